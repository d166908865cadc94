-- The suggestion on screen for a picture: once the ghost text shows, tell the UI attached
-- to this Neovim (`nvim --embed`, tests/editors/nvim_screen.py) and wait until it has taken
-- its picture.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local H = dofile(vim.fs.joinpath(here, 'harness.lua'))

vim.o.number = true
vim.o.laststatus = 2
vim.o.statusline = " %t %= %{v:lua.require'ghostwright'.statusline()} "

H.run(function()
  H.setup()
  H.results.ghost = H.suggest(require('ghostwright.native').namespace, 'item')
  vim.cmd.redraw()
  vim.rpcnotify(0, 'ghostwright_test', 'suggestion_visible', H.results.ghost)
  H.wait(30000, function()
    return vim.g.ghostwright_screenshot_taken
  end, 'the screenshot')
end)
