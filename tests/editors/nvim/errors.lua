-- A server that cannot start or cannot load its model: a clear error, shown once, and kept
-- for :checkhealth.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local H = dofile(vim.fs.joinpath(here, 'harness.lua'))

H.run(function()
  H.setup()
  local server = require('ghostwright.server')
  vim.cmd.edit(vim.fn.fnameescape(H.params.file))
  H.results.last_error = H.wait(30000, function()
    return server.last_error and server.last_error.message
  end, 'an error')
  if H.params.wait_for_status then
    H.wait(30000, function()
      local client = server.clients({ bufnr = 0 })[1]
      return client and server.status[client.id]
    end, 'a status')
  end
  -- Shown by the plugin, or (a server that quit) by Neovim itself.
  local shown = H.params.shown or H.results.last_error
  H.wait(5000, function()
    local messages = vim.api.nvim_exec2('messages', { output = true }).output
    return messages:find(shown, 1, true)
  end, 'the error shown')
  H.results.clients = #server.clients()
  vim.cmd('checkhealth ghostwright')
  H.results.health = H.wait(60000, function()
    local text = H.buffer_text()
    return vim.bo.filetype == 'checkhealth' and text:find('Errors') and text
  end, 'the health report')
end)
