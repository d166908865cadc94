import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { acceptArgument, SuggestionSession } from '../../src/session';
import { formatLatency, modelName, statusView } from '../../src/status';

const URI = 'file:///w/a.py';

describe('SuggestionSession', () => {
  it('counts shown and accepted suggestions and the rate', () => {
    const session = new SuggestionSession();
    assert.equal(session.acceptanceRate, undefined);
    session.answered(URI, { line: 3, character: 10 }, [{ id: 's1', text: ' * b' }], 120);
    session.answered(URI, { line: 9, character: 4 }, [{ id: 's2', text: 'return x' }], 300);
    session.acceptedSuggestion('s2');
    assert.equal(session.shown, 2);
    assert.equal(session.accepted, 1);
    assert.equal(session.acceptanceRate, 0.5);
    assert.equal(session.lastLatencyMs, 300);
  });

  it('does not count the rest of a suggestion being typed through as a new one', () => {
    const session = new SuggestionSession();
    session.answered(URI, { line: 3, character: 10 }, [{ id: 's1', text: ' * b' }], 120);
    session.answered(URI, { line: 3, character: 12 }, [{ id: 's2', text: ' b' }], 2);
    assert.equal(session.shown, 1);
    session.answered(URI, { line: 3, character: 13 }, [{ id: 's3', text: 'c' }], 2);
    assert.equal(session.shown, 2);
  });

  it('keeps the latency of answers with a suggestion only', () => {
    const session = new SuggestionSession();
    session.answered(URI, { line: 0, character: 1 }, [{ id: 's1', text: 'x' }], 250);
    session.answered(URI, { line: 0, character: 2 }, [], 3);
    assert.equal(session.lastLatencyMs, 250);
  });

  it('counts an accept once', () => {
    const session = new SuggestionSession();
    session.answered(URI, { line: 0, character: 1 }, [{ id: 's1', text: 'x' }], 250);
    session.acceptedSuggestion('s1');
    session.acceptedSuggestion('s1');
    assert.equal(session.accepted, 1);
  });

  it('knows which suggestion is on screen in which document', () => {
    const session = new SuggestionSession();
    session.answered(URI, { line: 0, character: 1 }, [{ id: 's1', text: 'x' }], 250);
    assert.equal(session.takeOnScreen('file:///w/other.py'), undefined);
    assert.equal(session.takeOnScreen(URI), 's1');
    assert.equal(session.takeOnScreen(URI), undefined);
    session.answered(URI, { line: 0, character: 1 }, [{ id: 's2', text: 'x' }], 250);
    session.answered(URI, { line: 0, character: 2 }, [], 1);
    assert.equal(session.takeOnScreen(URI), undefined);
  });
});

describe('acceptArgument', () => {
  it('reads {id, score}', () => {
    assert.deepEqual(acceptArgument([{ id: 'a1', score: 0.4 }]), { id: 'a1', score: 0.4 });
    assert.deepEqual(acceptArgument([{ id: 'a1', score: null }]), { id: 'a1' });
    assert.equal(acceptArgument([]), undefined);
    assert.equal(acceptArgument(undefined), undefined);
    assert.equal(acceptArgument([{ id: 3 }]), undefined);
    assert.equal(acceptArgument(['a1']), undefined);
  });
});

describe('status bar', () => {
  it('shows the model, the last latency and accepted/shown when ready', () => {
    const view = statusView({
      state: 'ready',
      detail: '/root/.cache/ghostwright/models/SmolLM2-135M-Instruct.Q4_1.gguf',
      enabled: true,
      lastLatencyMs: 231.6,
      shown: 5,
      accepted: 2,
    });
    assert.equal(view.text, '$(sparkle) SmolLM2-135M-Instruct.Q4_1 · 232 ms · 2/5');
    assert.match(view.tooltip, /2\/5 accepted \(40%\)/);
    assert.match(view.tooltip, /`\/root\/\.cache\/ghostwright\/models\/SmolLM2-135M-Instruct\.Q4_1\.gguf`/);
    assert.equal(view.error, false);
  });

  it('shows just the model before the first suggestion', () => {
    const view = statusView({ state: 'ready', detail: 'C:\\models\\qwen.gguf', enabled: true, shown: 0, accepted: 0 });
    assert.equal(view.text, '$(sparkle) qwen');
    assert.match(view.tooltip, /none shown yet/);
  });

  it('says when suggestions are off', () => {
    const view = statusView({ state: 'ready', detail: '/m/a.gguf', enabled: false, lastLatencyMs: 10, shown: 1, accepted: 1 });
    assert.equal(view.text, '$(circle-slash) Ghostwright off');
  });

  it('shows loading, failure and a stopped server', () => {
    assert.match(statusView({ state: 'loading', detail: 'default model', enabled: true, shown: 0, accepted: 0 }).text, /loading/);
    const failed = statusView({ state: 'failed', detail: 'model.gguf is not a GGUF file', enabled: true, shown: 0, accepted: 0 });
    assert.equal(failed.error, true);
    assert.match(failed.tooltip, /not a GGUF file/);
    assert.equal(statusView({ state: 'stopped', enabled: true, shown: 0, accepted: 0 }).error, true);
  });

  it('formats latencies and model names', () => {
    assert.equal(formatLatency(999.4), '999 ms');
    assert.equal(formatLatency(1530), '1.5 s');
    assert.equal(modelName(''), undefined);
    assert.equal(modelName('/a/b/Model.GGUF'), 'Model');
  });
});
