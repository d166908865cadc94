--- Next edits: after a change settles, ask the server (`ghostwright/nextEdit`) for the edits
--- that should follow it (the other places of a rename, ...) and show them where they apply:
--- the text they delete highlighted, the text they insert as virtual text (and, when they are
--- off screen, a hint at the cursor line). The jump key moves the cursor to them, pressed there
--- it applies them; the dismiss key drops them. Any newer change makes a proposal stale: it is
--- taken off the screen.
local config = require('ghostwright.config')
local server = require('ghostwright.server')

local M = {}

M.namespace = vim.api.nvim_create_namespace('ghostwright.next_edit')

local ACCEPTED_COMMAND = 'ghostwright.nextEdit.accepted'

local uv = vim.uv or vim.loop
local api = vim.api

---@class ghostwright.NextEdit The server's proposal (`ghostwright/nextEdit` result).
---@field id string
---@field uri string
---@field version integer
---@field source string
---@field label string
---@field edits lsp.TextEdit[]
---@field jump lsp.Position
---@field range lsp.Range
---@field score number?

---@class (private) ghostwright.NextEditState
---@field client_id integer
---@field seen integer changedtick of the last change handled.
---@field timer uv.uv_timer_t?
---@field pending table? Token of the request whose answer is awaited.
---@field request_id integer?
---@field proposal ghostwright.NextEdit? The proposal on screen.
---@field landed integer[]? Where the jump put the cursor ({row, col} as nvim_win_get_cursor).

---@type table<integer, ghostwright.NextEditState>
local buffers = {}

--- The buffer number of `bufnr`, 0 meaning the current buffer.
local function resolve(bufnr)
  return bufnr == 0 and api.nvim_get_current_buf() or bufnr
end

--- The buffer position (0-based row, byte column) of an LSP position, inside the buffer.
local function position(bufnr, client, lsp_position)
  local last = api.nvim_buf_line_count(bufnr) - 1
  if lsp_position.line > last then
    return last, #api.nvim_buf_get_lines(bufnr, last, last + 1, false)[1]
  end
  local row = lsp_position.line
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1]
  return row, server.byte_column(line, client.offset_encoding, lsp_position.character)
end

local function announce(action, bufnr, proposal)
  api.nvim_exec_autocmds('User', {
    pattern = 'GhostwrightNextEdit',
    modeline = false,
    data = { action = action, bufnr = bufnr, id = proposal.id, label = proposal.label },
  })
end

local function stop_timer(state)
  if state.timer then
    state.timer:stop()
    state.timer:close()
    state.timer = nil
  end
end

--- Forget the request in flight (cancelled at the server).
local function forget_request(state)
  stop_timer(state)
  if state.request_id then
    local client = vim.lsp.get_client_by_id(state.client_id)
    if client and not server.is_stopped(client) then
      server.cancel(client, state.request_id)
    end
  end
  state.pending, state.request_id = nil, nil
end

--- Take the proposal off the screen and return it (nil: none was shown).
---@return ghostwright.NextEdit?
local function take(bufnr)
  local state = buffers[bufnr]
  local proposal = state and state.proposal
  if not proposal then
    return nil
  end
  state.proposal, state.landed = nil, nil
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  end
  return proposal
end

--- Drop the proposal on screen and tell the server (`action`: 'dismiss' by the key, 'stale'
--- after a newer change).
local function drop(bufnr, action)
  local proposal = take(bufnr)
  if not proposal then
    return false
  end
  local client = vim.lsp.get_client_by_id(buffers[bufnr].client_id)
  if client and not server.is_stopped(client) then
    server.notify(client, 'ghostwright/nextEditDismissed', { id = proposal.id })
  end
  announce(action, bufnr, proposal)
  return true
end

--- Inserted text as virtual text: a single line inline at the end of the range it replaces;
--- whole lines (inserted at a line start) as virtual lines above it; else the first line
--- inline and the others as virtual lines below.
local function show_insert(bufnr, row, col, text)
  local lines = vim.split(text, '\n', { plain = true })
  local function virt_lines(from, to)
    local result = {}
    for i = from, to do
      result[#result + 1] = { { lines[i], 'GhostwrightNextEditInsert' } }
    end
    return result
  end
  local mark = { hl_mode = 'combine', right_gravity = false }
  if #lines > 1 and col == 0 and lines[#lines] == '' then
    mark.virt_lines, mark.virt_lines_above = virt_lines(1, #lines - 1), true
  else
    if lines[1] ~= '' then
      mark.virt_text, mark.virt_text_pos = { { lines[1], 'GhostwrightNextEditInsert' } }, 'inline'
    end
    if #lines > 1 then
      mark.virt_lines = virt_lines(2, #lines)
    end
  end
  if mark.virt_text or mark.virt_lines then
    api.nvim_buf_set_extmark(bufnr, M.namespace, row, col, mark)
  end
end

--- A proposal off screen: a hint at the end of the cursor line says where it is.
---@param proposal ghostwright.NextEdit
local function show_hint(bufnr, client, proposal)
  if api.nvim_get_current_buf() ~= bufnr then
    return
  end
  local line = position(bufnr, client, proposal.jump) + 1
  local first, last = vim.fn.line('w0'), vim.fn.line('w$')
  if line >= first and line <= last then
    return
  end
  local key = config.options.next_edit.keymaps.jump
  local hint = ('  %s %s (line %d)%s'):format(
    line < first and '↑' or '↓',
    proposal.label,
    line,
    key and ('  ' .. key) or ''
  )
  api.nvim_buf_set_extmark(bufnr, M.namespace, api.nvim_win_get_cursor(0)[1] - 1, 0, {
    virt_text = { { hint, 'GhostwrightNextEditHint' } },
    virt_text_pos = 'eol',
  })
end

---@param proposal ghostwright.NextEdit
local function render(bufnr, client, proposal)
  api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  for _, edit in ipairs(proposal.edits) do
    local row, col = position(bufnr, client, edit.range.start)
    local end_row, end_col = position(bufnr, client, edit.range['end'])
    if end_row > row or end_col > col then
      api.nvim_buf_set_extmark(bufnr, M.namespace, row, col, {
        end_row = end_row,
        end_col = end_col,
        hl_group = 'GhostwrightNextEditDelete',
      })
    end
    show_insert(bufnr, end_row, end_col, edit.newText)
  end
  show_hint(bufnr, client, proposal)
end

local function on_answer(bufnr, token, tick, err, result)
  local state = buffers[bufnr]
  if not state or state.pending ~= token then
    return -- superseded
  end
  state.pending, state.request_id = nil, nil
  if err then
    require('vim.lsp.log').warn('ghostwright: ghostwright/nextEdit failed', err)
  end
  local client = vim.lsp.get_client_by_id(state.client_id)
  if err or type(result) ~= 'table' or not client or not api.nvim_buf_is_valid(bufnr) then
    return
  end
  local current = api.nvim_buf_get_changedtick(bufnr) == tick
    and result.version == vim.lsp.util.buf_versions[bufnr]
    and result.uri == vim.uri_from_bufnr(bufnr)
  if not current or type(result.edits) ~= 'table' or #result.edits == 0 then
    return
  end
  take(bufnr)
  state.proposal = result
  render(bufnr, client, result)
  announce('shown', bufnr, result)
end

--- Ask for a next edit at the cursor now; show it when it comes.
---@param bufnr integer
function M.request(bufnr)
  bufnr = resolve(bufnr)
  local state = buffers[bufnr]
  local client = state and vim.lsp.get_client_by_id(state.client_id)
  if not client or server.is_stopped(client) or api.nvim_get_current_buf() ~= bufnr then
    return
  end
  forget_request(state)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  -- The version asked about: an answer computed after a newer change is never sent.
  params.textDocument.version = vim.lsp.util.buf_versions[bufnr]
  local token, tick = {}, api.nvim_buf_get_changedtick(bufnr)
  state.pending = token
  local ok, request_id = server.request(
    client,
    'ghostwright/nextEdit',
    params,
    function(err, result)
      on_answer(bufnr, token, tick, err, result)
    end,
    bufnr
  )
  state.request_id = ok and request_id or nil
end

--- A change (or an event after one, such as leaving insert mode; or a key that acts on the
--- proposal, maybe typed before Neovim reported the change): when the text is newer than what
--- was handled, the proposal on screen is stale; ask again after the debounce time.
local function changed(bufnr)
  local state = buffers[bufnr]
  if not state or state.seen == api.nvim_buf_get_changedtick(bufnr) then
    return
  end
  state.seen = api.nvim_buf_get_changedtick(bufnr)
  forget_request(state)
  drop(bufnr, 'stale')
  if not config.options.next_edit.enabled then
    return
  end
  state.timer = uv.new_timer()
  state.timer:start(
    config.options.next_edit.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if buffers[bufnr] == state and state.timer then
        stop_timer(state)
        M.request(bufnr)
      end
    end)
  )
end

---@param bufnr integer
---@param client_id integer
function M.attach(bufnr, client_id)
  if buffers[bufnr] then
    buffers[bufnr].client_id = client_id
    return
  end
  buffers[bufnr] = { client_id = client_id, seen = api.nvim_buf_get_changedtick(bufnr) }
  local group = api.nvim_create_augroup('ghostwright.next_edit.' .. bufnr, { clear = true })
  api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      changed(bufnr)
    end,
  })
  api.nvim_create_autocmd({ 'BufUnload', 'LspDetach' }, {
    group = group,
    buffer = bufnr,
    callback = function(args)
      if args.event == 'LspDetach' and args.data.client_id ~= buffers[bufnr].client_id then
        return
      end
      forget_request(buffers[bufnr])
      take(bufnr)
      buffers[bufnr] = nil
      api.nvim_del_augroup_by_id(group)
    end,
  })
end

--- The proposal on screen in the buffer, or nil.
---@param bufnr integer
---@return ghostwright.NextEdit?
function M.proposal(bufnr)
  local state = buffers[resolve(bufnr)]
  return state and state.proposal
end

--- The cursor position of the proposal's jump target in the current window.
local function target(bufnr, state)
  local client = vim.lsp.get_client_by_id(state.client_id)
  local row, col = position(bufnr, client, state.proposal.jump)
  return { row + 1, col }
end

--- Apply the proposal on screen, then tell the server (`ghostwright.nextEdit.accepted`).
---@param bufnr integer
---@return boolean applied
function M.apply(bufnr)
  bufnr = resolve(bufnr)
  changed(bufnr)
  local state = buffers[bufnr]
  local client = state and vim.lsp.get_client_by_id(state.client_id)
  local proposal = take(bufnr)
  if not proposal or not client then
    return false
  end
  vim.lsp.util.apply_text_edits(proposal.edits, bufnr, client.offset_encoding)
  server.exec(client, {
    title = 'Accept next edit',
    command = ACCEPTED_COMMAND,
    arguments = { { id = proposal.id } },
  }, bufnr)
  announce('accept', bufnr, proposal)
  return true
end

--- Move the cursor to the proposal; when it is there already, apply the proposal.
---@param bufnr integer
---@return boolean acted
function M.jump(bufnr)
  bufnr = resolve(bufnr)
  changed(bufnr)
  local state = buffers[bufnr]
  if not (state and state.proposal) or api.nvim_get_current_buf() ~= bufnr then
    return false
  end
  local cursor = api.nvim_win_get_cursor(0)
  local goal = target(bufnr, state)
  local there = vim.deep_equal(cursor, goal) or vim.deep_equal(cursor, state.landed)
  if there then
    return M.apply(bufnr)
  end
  api.nvim_win_set_cursor(0, goal)
  state.landed = api.nvim_win_get_cursor(0)
  return true
end

--- Dismiss the proposal on screen (`ghostwright/nextEditDismissed`).
---@param bufnr integer
---@return boolean dismissed
function M.dismiss(bufnr)
  bufnr = resolve(bufnr)
  changed(bufnr)
  return drop(bufnr, 'dismiss')
end

return M
