-- Next edits: rename `result` at its definition with `ciw`; the server proposes renaming its
-- other use, and the plugin shows the proposal as extmarks. Then, by `case`:
--   accept:  the jump key moves the cursor to it, pressed again applies it;
--   dismiss: the dismiss key takes it off the screen, the text unchanged;
--   newer:   typing elsewhere makes it stale: it is taken off the screen;
--   off:     with next edits off nothing is asked after a change; `:Ghostwright nextedit`
--            asks (in a window too small to show line 3: a hint shows where the proposal
--            is), `:Ghostwright nextedit apply` applies.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local H = dofile(vim.fs.joinpath(here, 'harness.lua'))

local api = vim.api

-- What the client sends: nextEdit requests, executeCommand requests, notifications.
H.results.next_edit_requests = 0
H.results.commands = {}
H.results.dismissed = {}
H.results.events = {}
api.nvim_create_autocmd('LspAttach', {
  callback = function(args)
    local client = assert(vim.lsp.get_client_by_id(args.data.client_id))
    local request = client.request
    client.request = function(self, method, params, ...)
      if method == 'ghostwright/nextEdit' then
        H.results.next_edit_requests = H.results.next_edit_requests + 1
      elseif method == 'workspace/executeCommand' then
        table.insert(H.results.commands, params)
      end
      return request(self, method, params, ...)
    end
  end,
})
api.nvim_create_autocmd('LspNotify', {
  callback = function(args)
    if args.data.method == 'ghostwright/nextEditDismissed' then
      table.insert(H.results.dismissed, args.data.params)
    end
  end,
})
api.nvim_create_autocmd('User', {
  pattern = 'GhostwrightNextEdit',
  callback = function(args)
    table.insert(H.results.events, { action = args.data.action, id = args.data.id })
  end,
})

--- The extmarks of next edits in the current buffer, as plain tables.
local function marks()
  local namespace = require('ghostwright.next_edit').namespace
  local found = {}
  for _, mark in ipairs(api.nvim_buf_get_extmarks(0, namespace, 0, -1, { details = true })) do
    local details = mark[4]
    local text = {}
    for _, chunk in ipairs(details.virt_text or {}) do
      text[#text + 1] = chunk[1]
    end
    table.insert(found, {
      row = mark[2],
      col = mark[3],
      end_row = details.end_row,
      end_col = details.end_col,
      hl_group = details.hl_group,
      virt_text = #text > 0 and table.concat(text) or nil,
      virt_text_pos = details.virt_text_pos,
      virt_text_hl = details.virt_text and details.virt_text[1][2] or nil,
    })
  end
  return found
end

local function lines()
  return api.nvim_buf_get_lines(0, 0, -1, false)
end

local function wait_for_proposal()
  local proposal = H.wait(30000, function()
    return #marks() > 0 and require('ghostwright.next_edit').proposal(0)
  end, 'a next edit on screen')
  H.results.proposal = proposal
  H.results.marks = marks()
  H.results.version = vim.lsp.util.buf_versions[api.nvim_get_current_buf()]
  return proposal
end

local function wait_for_normal_mode()
  H.wait(5000, function()
    return api.nvim_get_mode().mode == 'n'
  end, 'normal mode')
end

--- Rename `result` on line 2 to `total` as a person would: `ciw`, type, <Esc>.
local function rename()
  vim.cmd.edit(vim.fn.fnameescape(H.params.file))
  H.ready_client()
  api.nvim_win_set_cursor(0, { 2, 4 })
  H.input('ciwtotal<Esc>')
  wait_for_normal_mode()
  H.results.lines_after_rename = lines()
end

local cases = {}

function cases.accept()
  rename()
  local proposal = wait_for_proposal()
  H.input('<M-n>')
  H.results.cursor_after_jump = H.wait(5000, function()
    local cursor = api.nvim_win_get_cursor(0)
    return cursor[1] ~= 2 and cursor
  end, 'the cursor to move')
  H.results.lines_after_jump = lines()
  H.results.marks_after_jump = marks()
  H.input('<M-n>')
  H.wait(5000, function()
    return lines()[3] ~= H.results.lines_after_rename[3]
  end, 'the next edit applied')
  H.results.lines_after_apply = lines()
  H.results.marks_after_apply = marks()
  H.wait(5000, function()
    return #H.results.commands > 0
  end, 'the accepted command')
  H.results.id = proposal.id
end

function cases.dismiss()
  rename()
  local proposal = wait_for_proposal()
  H.input('<M-x>')
  H.wait(5000, function()
    return #marks() == 0
  end, 'the next edit off the screen')
  H.results.lines_after_dismiss = lines()
  H.wait(5000, function()
    return #H.results.dismissed > 0
  end, 'the dismissal sent')
  H.results.id = proposal.id
end

function cases.newer()
  rename()
  local proposal = wait_for_proposal()
  H.input('ggA # width times height<Esc>')
  H.wait(5000, function()
    return #marks() == 0 or require('ghostwright.next_edit').proposal(0) ~= proposal
  end, 'the next edit off the screen')
  H.results.marks_after_typing = marks()
  wait_for_normal_mode()
  H.results.lines_after_typing = lines()
  H.wait(5000, function()
    return #H.results.dismissed > 0
  end, 'the dismissal sent')
  H.results.id = proposal.id
end

function cases.off()
  rename()
  vim.wait(1500) -- debounce and the server's settle time: nothing may be asked meanwhile
  H.results.requests_while_off = H.results.next_edit_requests
  H.results.marks_while_off = marks()
  vim.o.lines = 3
  H.results.window_lines = { vim.fn.line('w0'), vim.fn.line('w$') }
  vim.cmd('Ghostwright nextedit')
  local proposal = wait_for_proposal()
  vim.cmd('Ghostwright nextedit apply')
  H.results.lines_after_apply = lines()
  H.results.marks_after_apply = marks()
  H.wait(5000, function()
    return #H.results.commands > 0
  end, 'the accepted command')
  H.results.id = proposal.id
end

H.run(function()
  H.setup()
  cases[H.params.case]()
end)
