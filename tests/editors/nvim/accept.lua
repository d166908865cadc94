-- Neovim's own inline completion shows the suggestion; the accept key inserts it and runs
-- its `ghostwright.accept` command once.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local H = dofile(vim.fs.joinpath(here, 'harness.lua'))

-- Each executeCommand request the client sends, by id.
local commands = {}
vim.api.nvim_create_autocmd('LspRequest', {
  callback = function(args)
    local request = args.data.request
    if request and request.method == 'workspace/executeCommand' then
      commands[args.data.request_id] = true
    end
  end,
})

H.run(function()
  H.setup()
  local native = require('ghostwright.native')
  H.results.renderer = require('ghostwright').renderer_name()
  H.results.ghost = H.suggest(native.namespace, 'item')
  H.results.native_enabled = vim.lsp.inline_completion.is_enabled({ bufnr = 0 })
  H.input('<Tab>')
  H.results.decision = H.decision(1)
  H.wait(5000, function()
    return not H.ghost_text(native.namespace)
      and vim.api.nvim_get_current_line() ~= H.results.line_before
  end, 'the suggestion in the buffer')
  H.results.line_after = vim.api.nvim_get_current_line()
  H.results.buffer = H.buffer_text()
  H.results.cursor = vim.api.nvim_win_get_cursor(0)
  H.results.mode = vim.api.nvim_get_mode().mode
  H.wait(5000, function()
    return next(commands)
  end, 'the accept command')
  H.results.commands_sent = vim.tbl_count(commands)
end)
