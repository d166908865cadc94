-- The dismiss key takes the suggestion off the screen and tells the server; then the
-- commands: status, toggle, export, train.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local H = dofile(vim.fs.joinpath(here, 'harness.lua'))

local function messages()
  return vim.api.nvim_exec2('messages', { output = true }).output
end

H.run(function()
  H.setup()
  local native = require('ghostwright.native')
  H.results.ghost = H.suggest(native.namespace, 'item')
  H.input('<C-]>')
  H.results.decision = H.decision(1)
  H.wait(5000, function()
    return not H.ghost_text(native.namespace)
  end, 'the suggestion off the screen')
  H.results.line_after = vim.api.nvim_get_current_line()
  H.input('<Esc>')
  H.wait(5000, function()
    return vim.api.nvim_get_mode().mode == 'n'
  end, 'normal mode')

  H.results.status = require('ghostwright.commands').status_lines()
  vim.cmd('Ghostwright toggle')
  H.results.enabled_after_toggle = vim.lsp.inline_completion.is_enabled({ bufnr = 0 })
  vim.cmd('Ghostwright toggle')
  H.results.enabled_after_second_toggle = vim.lsp.inline_completion.is_enabled({ bufnr = 0 })

  vim.cmd('Ghostwright export ' .. vim.fn.fnameescape(H.params.export))
  H.wait(30000, function()
    return messages():find('export to .- done') or messages():find('export to .- failed')
  end, 'the export to end')
  vim.cmd('Ghostwright train')
  H.wait(30000, function()
    return messages():find('train done') or messages():find('train failed')
  end, 'the training to end')
end)
