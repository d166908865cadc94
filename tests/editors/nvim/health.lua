-- :checkhealth ghostwright with a running server; and the plugin leaks no global variable.
local globals = {}
for name in pairs(_G) do
  globals[name] = true
end
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local H = dofile(vim.fs.joinpath(here, 'harness.lua'))

H.run(function()
  H.setup()
  vim.cmd.edit(vim.fn.fnameescape(H.params.file))
  H.ready_client()
  vim.cmd('checkhealth ghostwright')
  H.results.health = H.wait(60000, function()
    local text = H.buffer_text()
    return vim.bo.filetype == 'checkhealth' and text:find('Errors') and text
  end, 'the health report')
  vim.cmd('Ghostwright status')

  -- The help file: tags without duplicates (:helptags fails on those), in a copy.
  local help = vim.api.nvim_get_runtime_file('doc/ghostwright.txt', false)[1]
  local doc = vim.fn.tempname()
  vim.fn.mkdir(doc, 'p')
  vim.fn.writefile(vim.fn.readfile(help), vim.fs.joinpath(doc, 'ghostwright.txt'))
  vim.cmd.helptags(vim.fn.fnameescape(doc))
  H.results.help_tags = {}
  for _, line in ipairs(vim.fn.readfile(vim.fs.joinpath(doc, 'tags'))) do
    table.insert(H.results.help_tags, vim.split(line, '\t')[1])
  end
  require('ghostwright.ghost') -- every module loaded
  H.results.new_globals = {}
  for name in pairs(_G) do
    if not globals[name] then
      table.insert(H.results.new_globals, name)
    end
  end
end)
