--- The native renderer: Neovim's own `vim.lsp.inline_completion` (0.12+) asks the server and
--- draws the ghost text; this module switches it on for Ghostwright's buffers and routes the
--- keys through `vim.lsp.inline_completion.get({ on_accept = ... })`, which hands over the
--- item on screen (and takes it off the screen) instead of inserting it. So every action,
--- whole accept included, goes through `ghostwright.suggestion`: the accept command runs once,
--- and partial accepts and dismissals reach the server too.
local M = {}

local api = vim.api

--- The namespace Neovim draws inline completions in.
M.namespace = api.nvim_create_namespace('nvim.lsp.inline_completion')

---@type table<integer, boolean>
local buffers = {}
local enabled = true

---@return boolean
function M.available()
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.get ~= nil
end

---@param bufnr integer
function M.attach(bufnr, _)
  buffers[bufnr] = true
  if enabled then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  end
  api.nvim_create_autocmd('BufUnload', {
    buffer = bufnr,
    once = true,
    callback = function()
      buffers[bufnr] = nil
    end,
  })
end

---@param on boolean
function M.set_enabled(on)
  enabled = on
  for bufnr in pairs(buffers) do
    if api.nvim_buf_is_valid(bufnr) then
      vim.lsp.inline_completion.enable(on, { bufnr = bufnr })
    end
  end
end

---@param bufnr integer
---@return boolean
function M.visible(bufnr)
  return #api.nvim_buf_get_extmarks(bufnr, M.namespace, 0, -1, { limit = 1 }) > 0
end

---@param bufnr integer
---@param native vim.lsp.inline_completion.Item
---@return ghostwright.Item
local function to_item(bufnr, native)
  local text = native.insert_text
  if type(text) == 'table' then
    text = text.value
  end
  local item = {
    bufnr = bufnr,
    client_id = native.client_id,
    text = text,
    command = native.command,
  }
  if native.range then
    item.row, item.col = native.range.start.row, native.range.start.col
  end
  return item
end

--- Take the suggestion on screen off it and hand it to `fn` (scheduled by Neovim). False when
--- none is on screen.
---@param bufnr integer
---@param fn fun(item: ghostwright.Item)
---@return boolean
function M.take(bufnr, fn)
  return vim.lsp.inline_completion.get({
    bufnr = bufnr,
    on_accept = function(native)
      fn(to_item(bufnr, native))
    end,
  })
end

--- Show the next (`count` > 0) or previous candidate of those the server answered with.
---@param bufnr integer
---@param count integer
---@return boolean
function M.select(bufnr, count)
  if not M.visible(bufnr) then
    return false
  end
  vim.schedule(function()
    vim.lsp.inline_completion.select({ bufnr = bufnr, count = count })
  end)
  return true
end

return M
