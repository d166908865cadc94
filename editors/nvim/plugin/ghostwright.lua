-- :Ghostwright status|toggle|log|train|export [PATH]|nextedit [apply|dismiss]. The plugin
-- starts nothing until require('ghostwright').setup() is called (:help ghostwright-setup).
if vim.g.loaded_ghostwright then
  return
end
vim.g.loaded_ghostwright = true

vim.api.nvim_create_user_command('Ghostwright', function(command)
  require('ghostwright.commands').run_command(command.args)
end, {
  nargs = '*',
  complete = function(lead, line)
    return require('ghostwright.commands').complete(lead, line)
  end,
  desc = 'Ghostwright: status, toggle, log, train, export [PATH], nextedit [apply|dismiss]',
})
