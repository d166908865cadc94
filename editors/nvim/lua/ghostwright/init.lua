--- Ghostwright for Neovim: inline code completions (ghost text) and next edits from the
--- Ghostwright language server, through Neovim's built-in LSP client.
---
--- `require('ghostwright').setup(opts)` starts the server for the configured filetypes (one
--- client per project root) and maps the keys; see `:help ghostwright`.
local config = require('ghostwright.config')
local next_edit = require('ghostwright.next_edit')
local server = require('ghostwright.server')
local suggestion = require('ghostwright.suggestion')

local M = {}

local api = vim.api

--- Whether `setup()` has run.
M.configured = false

--- Whether suggestions are on (`:Ghostwright toggle`).
M.enabled = true

--- The renderer module in use: `ghostwright.native` or `ghostwright.ghost`.
---@return table
function M.renderer()
  local name = config.options.renderer
  local native = require('ghostwright.native')
  if name == 'native' or (name == 'auto' and native.available()) then
    return native
  end
  return require('ghostwright.ghost')
end

--- 'native' or 'extmark': the renderer that `renderer = 'auto'` resolves to here.
---@return string
function M.renderer_name()
  return M.renderer() == require('ghostwright.native') and 'native' or 'extmark'
end

-- The actions, each true when it acted on a suggestion on screen (the keys fall back to
-- their own meaning otherwise).

---@return boolean
function M.accept()
  return M.renderer().take(api.nvim_get_current_buf(), function(item)
    suggestion.accept(item)
  end)
end

---@return boolean
function M.accept_word()
  return M.renderer().take(api.nvim_get_current_buf(), function(item)
    suggestion.accept(item, 'word')
  end)
end

---@return boolean
function M.accept_line()
  return M.renderer().take(api.nvim_get_current_buf(), function(item)
    suggestion.accept(item, 'line')
  end)
end

---@return boolean
function M.dismiss()
  return M.renderer().take(api.nvim_get_current_buf(), suggestion.dismiss)
end

---@return boolean
function M.next()
  return M.renderer().select(api.nvim_get_current_buf(), 1)
end

---@return boolean
function M.prev()
  return M.renderer().select(api.nvim_get_current_buf(), -1)
end

--- Whether a suggestion is on screen in the buffer (0: the current one).
---@param bufnr integer?
---@return boolean
function M.visible(bufnr)
  if not bufnr or bufnr == 0 then
    bufnr = api.nvim_get_current_buf()
  end
  return M.renderer().visible(bufnr)
end

--- A short state for a statusline: 'Ghostwright: ready' (or loading, failed, off), '' where
--- no Ghostwright server serves the current buffer.
---@return string
function M.statusline()
  local client = server.clients({ bufnr = api.nvim_get_current_buf() })[1]
  if not client then
    return ''
  end
  if not M.enabled then
    return 'Ghostwright: off'
  end
  local status = server.status[client.id]
  return 'Ghostwright: ' .. (status and status.state or 'starting')
end

--- Switch suggestions on or off (nil: the other way round).
---@param on boolean?
---@return boolean enabled
function M.toggle(on)
  if on == nil then
    on = not M.enabled
  end
  M.enabled = on
  M.renderer().set_enabled(on)
  return on
end

local descriptions = {
  accept = 'Ghostwright: accept the suggestion',
  accept_word = 'Ghostwright: accept the next word of the suggestion',
  accept_line = 'Ghostwright: accept the next line of the suggestion',
  dismiss = 'Ghostwright: dismiss the suggestion',
  next = 'Ghostwright: next candidate',
  prev = 'Ghostwright: previous candidate',
}

local next_edit_descriptions = {
  jump = 'Ghostwright: jump to the next edit; at it, apply it',
  dismiss = 'Ghostwright: dismiss the next edit',
}

local function map_keys(bufnr)
  for action, lhs in pairs(config.options.keymaps) do
    if lhs then
      vim.keymap.set('i', lhs, function()
        if M.enabled and M[action]() then
          return ''
        end
        return lhs
      end, { buffer = bufnr, expr = true, silent = true, desc = descriptions[action] })
    end
  end
  -- Keys may not change the text or move the cursor while they are evaluated: the action
  -- runs right after; with no next edit on screen the key does what it does without the plugin.
  for action, lhs in pairs(config.options.next_edit.keymaps) do
    if lhs then
      vim.keymap.set({ 'n', 'i' }, lhs, function()
        if not next_edit.proposal(bufnr) then
          return lhs
        end
        vim.schedule(function()
          next_edit[action](bufnr)
        end)
        return ''
      end, { buffer = bufnr, expr = true, silent = true, desc = next_edit_descriptions[action] })
    end
  end
end

local function on_attach(client, bufnr)
  M.renderer().attach(bufnr, client.id)
  next_edit.attach(bufnr, client.id)
  map_keys(bufnr)
end

--- Configure the plugin (`:help ghostwright-options`) and start the server for the open
--- buffers of the configured filetypes and for every one opened later.
---@param opts table?
function M.setup(opts)
  config.options = config.merge(opts)
  M.enabled = config.options.enabled
  M.configured = true
  server.on_attach = on_attach
  api.nvim_set_hl(0, 'GhostwrightSuggestion', { link = 'Comment', default = true })
  api.nvim_set_hl(0, 'GhostwrightSuggestionHint', { link = 'NonText', default = true })
  api.nvim_set_hl(0, 'GhostwrightNextEditDelete', { link = 'DiffDelete', default = true })
  api.nvim_set_hl(0, 'GhostwrightNextEditInsert', { link = 'DiffAdd', default = true })
  api.nvim_set_hl(0, 'GhostwrightNextEditHint', { link = 'NonText', default = true })
  M.renderer().set_enabled(M.enabled)
  local group = api.nvim_create_augroup('ghostwright', { clear = true })
  api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = config.options.filetypes,
    callback = function(args)
      server.start(args.buf)
    end,
  })
  for _, bufnr in ipairs(api.nvim_list_bufs()) do
    local filetype = vim.bo[bufnr].filetype
    if api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(config.options.filetypes, filetype) then
      server.start(bufnr)
    end
  end
end

return M
