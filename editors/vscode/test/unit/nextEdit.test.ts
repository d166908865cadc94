import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { appliesProposal, atProposal, decorationsFor, type NextEditProposal, parseProposal, shownText } from '../../src/nextEdit';

const URI = 'file:///w/area.py';

/** The server's answer for PROTOCOL.md's scenario: `result` renamed to `total` on line 2. */
const RENAME = {
  id: 'ne-1',
  uri: URI,
  version: 7,
  source: 'rename',
  label: 'rename result → total (1 more place)',
  edits: [{ range: { start: { line: 2, character: 11 }, end: { line: 2, character: 17 } }, newText: 'total' }],
  jump: { line: 2, character: 11 },
  range: { start: { line: 2, character: 11 }, end: { line: 2, character: 17 } },
  score: 0.8,
};

function proposal(overrides: Record<string, unknown> = {}): NextEditProposal {
  const parsed = parseProposal({ ...RENAME, ...overrides });
  assert.ok(parsed);
  return parsed;
}

describe('parseProposal', () => {
  it('reads the fields the client uses', () => {
    assert.deepEqual(parseProposal(RENAME), {
      id: 'ne-1',
      uri: URI,
      version: 7,
      label: 'rename result → total (1 more place)',
      edits: RENAME.edits,
      jump: { line: 2, character: 11 },
    });
  });

  it('is undefined for null (nothing to show) and for malformed answers', () => {
    assert.equal(parseProposal(null), undefined);
    assert.equal(parseProposal({ ...RENAME, id: '' }), undefined);
    assert.equal(parseProposal({ ...RENAME, version: '7' }), undefined);
    assert.equal(parseProposal({ ...RENAME, edits: [] }), undefined);
    assert.equal(parseProposal({ ...RENAME, edits: [{ range: RENAME.range }] }), undefined);
    const backwards = { start: { line: 2, character: 17 }, end: { line: 2, character: 11 } };
    assert.equal(parseProposal({ ...RENAME, edits: [{ range: backwards, newText: 'x' }] }), undefined);
  });

  it('refuses edits out of document order', () => {
    const later = { range: { start: { line: 4, character: 0 }, end: { line: 4, character: 1 } }, newText: 'a' };
    assert.equal(parseProposal({ ...RENAME, edits: [later, RENAME.edits[0]] }), undefined);
    assert.equal(parseProposal({ ...RENAME, edits: [RENAME.edits[0], later] })?.edits.length, 2);
  });

  it('jumps to the first edit when the answer has no jump position', () => {
    assert.deepEqual(proposal({ jump: undefined, edits: [{ range: RENAME.range, newText: 'total' }] }).jump, { line: 2, character: 11 });
  });
});

describe('decorationsFor', () => {
  it('strikes the replaced text, shows the new text after it and a hint on the cursor line', () => {
    assert.deepEqual(decorationsFor(proposal(), 1), {
      deleted: [RENAME.range],
      inserted: [{ at: { line: 2, character: 17 }, text: 'total' }],
      hint: { line: 1, text: 'rename result → total (1 more place) · line 3 · Alt+N to jump' },
    });
  });

  it('has no hint while the cursor is on an edited line', () => {
    assert.equal(decorationsFor(proposal(), 2).hint, undefined);
  });

  it('draws an insertion without deleted text and a deletion without inserted text', () => {
    const at = { line: 5, character: 4 };
    const insertion = proposal({ edits: [{ range: { start: at, end: at }, newText: 'x = 1\n' }] });
    assert.deepEqual(decorationsFor(insertion, 5), { deleted: [], inserted: [{ at, text: 'x = 1⏎' }], hint: undefined });
    const deletion = proposal({ edits: [{ range: RENAME.range, newText: '' }] });
    assert.deepEqual(decorationsFor(deletion, 2), { deleted: [RENAME.range], inserted: [], hint: undefined });
  });

  it('names a proposal without a label', () => {
    assert.match(decorationsFor(proposal({ label: 7 }), 0).hint?.text ?? '', /^next edit · line 3/);
  });

  it('shows line breaks of inserted text as ⏎', () => {
    assert.equal(shownText('a\nb\r\nc'), 'a⏎b⏎c');
  });
});

describe('atProposal', () => {
  it('is true at the jump position and within the first edit, false elsewhere', () => {
    const rename = proposal();
    assert.equal(atProposal(rename, { line: 2, character: 11 }), true);
    assert.equal(atProposal(rename, { line: 2, character: 17 }), true);
    assert.equal(atProposal(rename, { line: 2, character: 10 }), false);
    assert.equal(atProposal(rename, { line: 1, character: 13 }), false);
  });

  it('looks at the edit the jump position lies in (the server jumps to the first edit after the cursor)', () => {
    const second = { range: { start: { line: 4, character: 4 }, end: { line: 4, character: 10 } }, newText: 'total' };
    const twoPlaces = proposal({ edits: [RENAME.edits[0], second], jump: { line: 4, character: 4 } });
    assert.equal(atProposal(twoPlaces, { line: 4, character: 10 }), true);
    assert.equal(atProposal(twoPlaces, { line: 2, character: 11 }), false);
  });
});

describe('appliesProposal', () => {
  const second = { range: { start: { line: 4, character: 4 }, end: { line: 4, character: 10 } }, newText: 'total' };
  const twoPlaces = proposal({ edits: [RENAME.edits[0], second] });
  const change = (edit: { range: typeof RENAME.range; newText: string }) => ({ range: edit.range, text: edit.newText });

  it('recognizes the proposal applied some other way, in any order', () => {
    assert.equal(appliesProposal(twoPlaces, [change(second), change(RENAME.edits[0])]), true);
  });

  it('is false for other changes', () => {
    assert.equal(appliesProposal(twoPlaces, [change(second)]), false);
    assert.equal(appliesProposal(proposal(), [{ range: RENAME.range, text: 'totals' }]), false);
    const typed = { start: { line: 1, character: 9 }, end: { line: 1, character: 9 } };
    assert.equal(appliesProposal(proposal(), [{ range: typed, text: 'x' }]), false);
  });
});
