--- Options: the defaults, merged with what `setup(opts)` is given, validated once.
local M = {}

--- Every option with its default; doc/ghostwright.txt describes each one.
M.defaults = {
  --- Server command, e.g. `{ '/path/to/.venv/bin/ghostwright', 'serve' }`, or a function of
  --- the project root returning one. nil: `<root>/.venv/bin/ghostwright serve` when that
  --- exists, else `ghostwright serve` from PATH.
  cmd = nil,
  filetypes = {
    'python',
    'javascript',
    'javascriptreact',
    'typescript',
    'typescriptreact',
    'go',
    'rust',
    'java',
    'c',
    'cpp',
  },
  --- The project root is the nearest folder above the file holding one of these; one server
  --- runs per root. No marker found: the file's own folder.
  root_markers = {
    '.git',
    'pyproject.toml',
    'setup.py',
    'setup.cfg',
    'package.json',
    'go.mod',
    'Cargo.toml',
  },
  --- Server settings (README "Settings", camelCase), sent as initializationOptions.ghostwright.
  settings = {},
  --- 'auto': Neovim's own vim.lsp.inline_completion where it exists (0.12+), else extmarks;
  --- 'native' or 'extmark' to choose.
  renderer = 'auto',
  --- Extmark renderer: wait this long after the last keystroke before asking the server
  --- (VS Code's inline completions wait 50 ms; the server answers from its cache at once and
  --- waits by itself, adaptively, before it runs the model).
  debounce_ms = 50,
  --- Suggestions on when Neovim starts (`:Ghostwright toggle` switches).
  enabled = true,
  --- Insert-mode keys; false disables one. With no suggestion on screen a key does what it
  --- does without the plugin.
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-C-Right>',
    dismiss = '<C-]>',
    next = '<M-]>',
    prev = '<M-[>',
  },
  --- Next edits: edits the server proposes after a change (the other places of a rename...).
  next_edit = {
    --- Ask for them after each change (false: only `:Ghostwright nextedit` asks).
    enabled = true,
    --- Wait this long after the last change before asking (the server itself then waits
    --- until the document has been quiet for its `nextEditSettleMs`).
    debounce_ms = 150,
    --- Normal- and insert-mode keys; false disables one.
    keymaps = {
      jump = '<M-n>',
      dismiss = '<M-x>',
    },
  },
}

--- The options in force: the defaults until `setup()` runs.
M.options = vim.deepcopy(M.defaults)

local function check(name, ok, expected, value)
  if not ok then
    local message = 'ghostwright: option %s must be %s, got %s'
    error(message:format(name, expected, vim.inspect(value)), 0)
  end
end

local function check_keymaps(name, keymaps, defaults)
  check(name, type(keymaps) == 'table', 'a table', keymaps)
  local actions = table.concat(vim.tbl_keys(defaults), ', ')
  for action, key in pairs(keymaps) do
    check(name .. ' key', defaults[action] ~= nil, 'one of ' .. actions, action)
    check(name .. '.' .. action, key == false or type(key) == 'string', 'a key or false', key)
  end
end

--- Merge `opts` over the defaults; raise an error naming the first invalid option.
---@param opts table?
---@return table
function M.merge(opts)
  opts = opts or {}
  check('opts', type(opts) == 'table', 'a table', opts)
  local options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  -- A list given by the user replaces the default list instead of merging index by index.
  for _, name in ipairs({ 'filetypes', 'root_markers', 'cmd' }) do
    if opts[name] ~= nil then
      options[name] = opts[name]
    end
  end
  local cmd = options.cmd
  local cmd_ok = cmd == nil or type(cmd) == 'function' or (type(cmd) == 'table' and #cmd > 0)
  check('cmd', cmd_ok, 'a non-empty list or a function', cmd)
  check('filetypes', type(options.filetypes) == 'table', 'a list', options.filetypes)
  check('root_markers', type(options.root_markers) == 'table', 'a list', options.root_markers)
  check('settings', type(options.settings) == 'table', 'a table', options.settings)
  local renderer = options.renderer
  local renderer_ok = renderer == 'auto' or renderer == 'native' or renderer == 'extmark'
  check('renderer', renderer_ok, "'auto', 'native' or 'extmark'", renderer)
  local debounce = options.debounce_ms
  check('debounce_ms', type(debounce) == 'number' and debounce >= 0, 'a number >= 0', debounce)
  check('enabled', type(options.enabled) == 'boolean', 'true or false', options.enabled)
  check_keymaps('keymaps', options.keymaps, M.defaults.keymaps)
  local next_edit = options.next_edit
  check('next_edit', type(next_edit) == 'table', 'a table', next_edit)
  local enabled = next_edit.enabled
  check('next_edit.enabled', type(enabled) == 'boolean', 'true or false', enabled)
  debounce = next_edit.debounce_ms
  local debounce_ok = type(debounce) == 'number' and debounce >= 0
  check('next_edit.debounce_ms', debounce_ok, 'a number >= 0', debounce)
  check_keymaps('next_edit.keymaps', next_edit.keymaps, M.defaults.next_edit.keymaps)
  return options
end

return M
