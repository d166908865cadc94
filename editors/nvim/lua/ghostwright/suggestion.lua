--- What accepting, partly accepting and dismissing a suggestion does, whichever renderer showed
--- it: insert text at the cursor and tell the server (`ghostwright.accept`,
--- `ghostwright/partialAccept`, `ghostwright/dismiss`), so that its telemetry records the decision.
local server = require('ghostwright.server')

local M = {}

---@class ghostwright.Item
---@field bufnr integer
---@field client_id integer
---@field text string The whole insert text.
---@field row integer? 0-based row where the text goes; nil: at the cursor.
---@field col integer? 0-based byte column where the text goes.
---@field command lsp.Command? The server's accept command (`ghostwright.accept {id, score}`).

--- The suggestion id the server knows the item by.
---@param item ghostwright.Item
---@return string?
function M.id(item)
  local arguments = item.command and item.command.arguments
  local first = type(arguments) == 'table' and arguments[1]
  return type(first) == 'table' and type(first.id) == 'string' and first.id or nil
end

--- The window showing the buffer: the current one when it does.
local function window_of(bufnr)
  local current = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(current) == bufnr then
    return current
  end
  return vim.fn.bufwinid(bufnr)
end

--- The part of the item not yet in the buffer: its text less what was typed since it was
--- requested (between its start and the cursor).
---@param item ghostwright.Item
---@return string
function M.remainder(item)
  local window = window_of(item.bufnr)
  if not item.row or window == -1 then
    return item.text
  end
  local cursor = vim.api.nvim_win_get_cursor(window)
  local row, col = cursor[1] - 1, cursor[2]
  if row ~= item.row or col < item.col then
    return item.text
  end
  local line = vim.api.nvim_buf_get_lines(item.bufnr, row, row + 1, false)[1] or ''
  local typed = line:sub(item.col + 1, col)
  if vim.startswith(item.text, typed) then
    return item.text:sub(#typed + 1)
  end
  return item.text
end

--- The next word of a text, as copilot.vim takes it: the characters up to a word, then the
--- word (`.price` of `.price * item`); a leading line break takes the next line's indentation.
---@param text string
---@return string
function M.word(text)
  return text:match('^\n[ \t]*') or text:match('^[^%w_\128-\255\n]*[%w_\128-\255]*')
end

--- The next line of a text: up to its first line break, or the line after a leading one.
---@param text string
---@return string
function M.line(text)
  if text:sub(1, 1) == '\n' then
    return '\n' .. text:sub(2):match('^[^\n]*')
  end
  return text:match('^[^\n]*')
end

--- Insert text at the cursor of the buffer's window and put the cursor after it.
---@param bufnr integer
---@param text string
function M.insert(bufnr, text)
  local window = window_of(bufnr)
  if window == -1 then
    return
  end
  local cursor = vim.api.nvim_win_get_cursor(window)
  local row, col = cursor[1] - 1, cursor[2]
  local lines = vim.split(text, '\n', { plain = true })
  vim.api.nvim_buf_set_text(bufnr, row, col, row, col, lines)
  local last = #lines
  vim.api.nvim_win_set_cursor(window, { row + last, (last == 1 and col or 0) + #lines[last] })
end

local function decided(action, item, shown, inserted)
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'GhostwrightDecision',
    modeline = false,
    data = { action = action, id = M.id(item), text = shown, inserted = inserted },
  })
end

--- Accept the item, or its next word or line (`part`). A part that is the whole remainder is
--- a whole accept.
---
--- The server hears of it before the text changes: told after, it would first see the text
--- typed in and record that instead (a whole insert, or typing through part of it).
---@param item ghostwright.Item
---@param part 'word'|'line'|nil
function M.accept(item, part)
  local rest = M.remainder(item)
  local text = part and M[part](rest) or rest
  local client = vim.lsp.get_client_by_id(item.client_id)
  local ours = client ~= nil and client.name == server.NAME
  local whole = text == rest
  if ours and whole and item.command then
    server.exec(client, item.command, item.bufnr)
  elseif ours and M.id(item) then
    server.notify(client, 'ghostwright/partialAccept', {
      id = M.id(item),
      acceptedChars = vim.fn.strchars(text),
    })
  end
  M.insert(item.bufnr, text)
  if client and not ours and whole and item.command then
    -- Another server's item (a second inline-completion server in this buffer): its
    -- command runs after the insertion, as Neovim's own accept does.
    server.exec(client, item.command, item.bufnr)
  end
  decided(whole and 'accept' or ('accept_' .. part), item, rest, text)
end

--- Dismiss the item (it is already off the screen).
---@param item ghostwright.Item
function M.dismiss(item)
  local client = vim.lsp.get_client_by_id(item.client_id)
  if client and client.name == server.NAME and M.id(item) then
    server.notify(client, 'ghostwright/dismiss', { id = M.id(item) })
  end
  decided('dismiss', item, M.remainder(item), '')
end

return M
