-- Pure parts, no server: option merging and checking, and the word and line parts of a
-- suggestion that the partial-accept keys insert.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local H = dofile(vim.fs.joinpath(here, 'harness.lua'))

H.run(function()
  local config = require('ghostwright.config')
  local merged = config.merge({
    filetypes = { 'lua' },
    keymaps = { accept = '<C-y>', next = false },
    settings = { maxLines = 1 },
    next_edit = { keymaps = { dismiss = false } },
  })
  H.results.merged = {
    filetypes = merged.filetypes,
    accept = merged.keymaps.accept,
    next = merged.keymaps.next,
    dismiss = merged.keymaps.dismiss,
    settings = merged.settings,
    renderer = merged.renderer,
    debounce_ms = merged.debounce_ms,
    next_edit = merged.next_edit,
  }
  H.results.invalid = {}
  for _, opts in ipairs({
    { renderer = 'popup' },
    { debounce_ms = -1 },
    { keymaps = { accept_all = '<Tab>' } },
    { cmd = 'ghostwright serve' },
    { next_edit = { enabled = 'yes' } },
    { next_edit = { keymaps = { apply = '<M-a>' } } },
  }) do
    local ok, err = pcall(config.merge, opts)
    table.insert(H.results.invalid, ok and 'accepted' or err)
  end

  local suggestion = require('ghostwright.suggestion')
  H.results.parts = {}
  for _, text in ipairs(H.params.texts) do
    table.insert(H.results.parts, { suggestion.word(text), suggestion.line(text) })
  end
end)
