--- The extmark renderer: asks `textDocument/inlineCompletion` itself, debounced, after each
--- insert-mode change, and shows the answer as ghost text (virtual text on the cursor line,
--- virtual lines below). For Neovim 0.10 and 0.11, or by choice (`renderer = 'extmark'`).
local config = require('ghostwright.config')
local server = require('ghostwright.server')
local suggestion = require('ghostwright.suggestion')

local M = {}

M.namespace = vim.api.nvim_create_namespace('ghostwright')

local uv = vim.uv or vim.loop
local api = vim.api
local INVOKED, AUTOMATIC = 1, 2

---@class (private) ghostwright.GhostState
---@field client_id integer
---@field timer uv.uv_timer_t?
---@field pending table? Token of the request whose answer is awaited.
---@field request_id integer?
---@field items ghostwright.Item[]
---@field index integer
---@field tick integer changedtick when the shown items were asked for.

---@type table<integer, ghostwright.GhostState>
local buffers = {}
local enabled = true

local function cursor()
  local position = api.nvim_win_get_cursor(0)
  return position[1] - 1, position[2]
end

local function stop_timer(state)
  if state.timer then
    state.timer:stop()
    state.timer:close()
    state.timer = nil
  end
end

--- Forget the request in flight (cancelled at the server) and what is on screen.
local function clear(bufnr)
  local state = buffers[bufnr]
  if not state then
    return
  end
  stop_timer(state)
  if state.request_id then
    local client = vim.lsp.get_client_by_id(state.client_id)
    if client and not server.is_stopped(client) then
      server.cancel(client, state.request_id)
    end
  end
  state.pending, state.request_id = nil, nil
  state.items, state.index = {}, 0
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  end
end

--- Show items[index]: the text after what is typed, first line inline at the cursor, the
--- others as virtual lines below.
local function render(bufnr, index, hint)
  local state = buffers[bufnr]
  api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  local item = state.items[index]
  if not item then
    return
  end
  state.index = index
  local text = suggestion.remainder(item)
  local lines = vim.split(text, '\n', { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], 'GhostwrightSuggestion' } }
  end
  local first = { { lines[1], 'GhostwrightSuggestion' } }
  if hint then
    local target = #virt_lines > 0 and virt_lines[#virt_lines] or first
    target[#target + 1] = { hint, 'GhostwrightSuggestionHint' }
  end
  local row, col = cursor()
  api.nvim_buf_set_extmark(bufnr, M.namespace, row, col, {
    virt_text = first,
    virt_text_pos = 'inline',
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = 'combine',
    right_gravity = false,
  })
end

---@param lsp_item lsp.InlineCompletionItem
---@return ghostwright.Item?
local function to_item(bufnr, client, lsp_item)
  local text = lsp_item.insertText
  if type(text) == 'table' then
    text = text.value
  end
  if type(text) ~= 'string' or text == '' then
    return nil
  end
  local item = { bufnr = bufnr, client_id = client.id, text = text, command = lsp_item.command }
  if lsp_item.range then
    local start = lsp_item.range.start
    local line = api.nvim_buf_get_lines(bufnr, start.line, start.line + 1, false)[1] or ''
    item.row = start.line
    item.col = server.byte_column(line, client.offset_encoding, start.character)
  else
    item.row, item.col = cursor()
  end
  return item
end

local function on_answer(bufnr, token, select, err, result)
  local state = buffers[bufnr]
  if not state or state.pending ~= token then
    return -- superseded
  end
  state.pending, state.request_id = nil, nil
  local client = vim.lsp.get_client_by_id(state.client_id)
  if err then
    require('vim.lsp.log').warn('ghostwright: textDocument/inlineCompletion failed', err)
  end
  if err or not result or not client then
    return
  end
  local still_here = api.nvim_get_current_buf() == bufnr
    and api.nvim_get_mode().mode:sub(1, 1) == 'i'
    and api.nvim_buf_get_changedtick(bufnr) == state.tick
  if not still_here or not enabled then
    return
  end
  state.items = {}
  for _, lsp_item in ipairs(result.items or result) do
    state.items[#state.items + 1] = to_item(bufnr, client, lsp_item)
  end
  local count = #state.items
  if count > 0 then
    local index = ((select - 1) % count) + 1
    render(bufnr, index, count > 1 and select ~= 1 and ('  (%d/%d)'):format(index, count) or nil)
  end
end

--- Ask for suggestions at the cursor now; show the `select`-th when they come.
local function request(bufnr, kind, select)
  local state = buffers[bufnr]
  local client = state and vim.lsp.get_client_by_id(state.client_id)
  if not client or server.is_stopped(client) or api.nvim_get_current_buf() ~= bufnr then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = kind }
  local token = {}
  state.pending, state.tick = token, api.nvim_buf_get_changedtick(bufnr)
  local ok, request_id = server.request(
    client,
    'textDocument/inlineCompletion',
    params,
    function(err, result)
      on_answer(bufnr, token, select, err, result)
    end,
    bufnr
  )
  state.request_id = ok and request_id or nil
end

--- An insert-mode change: what was shown is stale; ask again after the debounce time.
local function changed(bufnr)
  clear(bufnr)
  local state = buffers[bufnr]
  if not enabled or not state then
    return
  end
  state.timer = uv.new_timer()
  state.timer:start(
    config.options.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if buffers[bufnr] == state and state.timer then
        stop_timer(state)
        if api.nvim_get_mode().mode:sub(1, 1) == 'i' then
          request(bufnr, AUTOMATIC, 1)
        end
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
  buffers[bufnr] = { client_id = client_id, items = {}, index = 0, tick = -1 }
  local group = api.nvim_create_augroup('ghostwright.ghost.' .. bufnr, { clear = true })
  api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      changed(bufnr)
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      clear(bufnr)
    end,
  })
  api.nvim_create_autocmd({ 'BufUnload', 'LspDetach' }, {
    group = group,
    buffer = bufnr,
    callback = function(args)
      if args.event == 'LspDetach' and args.data.client_id ~= buffers[bufnr].client_id then
        return
      end
      clear(bufnr)
      buffers[bufnr] = nil
      api.nvim_del_augroup_by_id(group)
    end,
  })
end

---@param on boolean
function M.set_enabled(on)
  enabled = on
  if not on then
    for bufnr in pairs(buffers) do
      clear(bufnr)
    end
  end
end

---@param bufnr integer
---@return boolean
function M.visible(bufnr)
  local state = buffers[bufnr]
  return state ~= nil and state.items[state.index] ~= nil
end

--- Take the suggestion on screen off it and hand it to `fn` (scheduled: keys mapped with
--- `expr` may not change the text). False when none is on screen.
---@param bufnr integer
---@param fn fun(item: ghostwright.Item)
---@return boolean
function M.take(bufnr, fn)
  local state = buffers[bufnr]
  local item = state and state.items[state.index]
  if not item then
    return false
  end
  vim.schedule(function()
    clear(bufnr)
    fn(item)
  end)
  return true
end

--- Show the next (`count` > 0) or previous candidate; with one candidate only, ask the server
--- for its candidates (an invoked request answers with several).
---@param bufnr integer
---@param count integer
---@return boolean
function M.select(bufnr, count)
  local state = buffers[bufnr]
  if not state or not enabled then
    return false
  end
  vim.schedule(function()
    local n = #state.items
    if n > 1 then
      local index = ((state.index - 1 + count) % n) + 1
      render(bufnr, index, ('  (%d/%d)'):format(index, n))
    else
      clear(bufnr)
      request(bufnr, INVOKED, count > 0 and 2 or 0)
    end
  end)
  return true
end

return M
