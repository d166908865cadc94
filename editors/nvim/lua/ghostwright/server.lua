--- The language server: finding its command, one vim.lsp client per project root, what it
--- reports (`ghostwright/status`, errors), and the client calls of every Neovim version.
local config = require('ghostwright.config')

local M = {}

M.NAME = 'ghostwright'

--- The last `ghostwright/status` ({state, detail}) by client id.
---@type table<integer, {state: string, detail: string}>
M.status = {}

--- The last error the plugin saw or showed: {message, time}; nil when none.
---@type {message: string, time: integer}?
M.last_error = nil

--- Error messages already shown, so that each is shown once.
---@type table<string, boolean>
local shown = {}

--- Called with (client, bufnr) when a ghostwright client attaches to a buffer.
---@type fun(client: vim.lsp.Client, bufnr: integer)?
M.on_attach = nil

local has_011 = vim.fn.has('nvim-0.11') == 1

--- Record an error for :checkhealth (and `:Ghostwright status`).
---@param message string
function M.record_error(message)
  M.last_error = { message = message, time = os.time() }
end

--- Record an error and show it, once per distinct message.
---@param message string
function M.error(message)
  M.record_error(message)
  if not shown[message] then
    shown[message] = true
    vim.schedule(function()
      vim.notify(message, vim.log.levels.ERROR, { title = 'Ghostwright' })
    end)
  end
end

-- Client calls: methods (`client:request`) since 0.11, fields (`client.request`) in 0.10.

---@return boolean ok, integer? request_id
function M.request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.notify(client, method, params)
  if has_011 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function M.cancel(client, request_id)
  if has_011 then
    return client:cancel_request(request_id)
  end
  return client.cancel_request(request_id)
end

function M.is_stopped(client)
  if has_011 then
    return client:is_stopped()
  end
  return client.is_stopped()
end

--- Run an LSP command (the `ghostwright.accept` of an item) through the client.
---@param command lsp.Command
function M.exec(client, command, bufnr)
  if has_011 then
    client:exec_cmd(command, { bufnr = bufnr })
    return
  end
  local params = { command = command.command, arguments = command.arguments }
  M.request(client, 'workspace/executeCommand', params, nil, bufnr)
end

--- Byte column of an LSP character offset (in the client's encoding) in a line.
---@param line string
---@param encoding string
---@param character integer
---@return integer
function M.byte_column(line, encoding, character)
  if has_011 then
    return vim.str_byteindex(line, encoding, character, false)
  end
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local ok, column = pcall(vim.str_byteindex, line, character, encoding == 'utf-16')
  return ok and column or #line
end

---@param bufnr integer
---@return string
function M.root(bufnr)
  local root = vim.fs.root(bufnr, config.options.root_markers)
  if root then
    return root
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  return name ~= '' and vim.fs.dirname(name) or vim.fn.getcwd()
end

--- The server command for a project root.
---@param root string
---@return string[]? cmd, string how found or why not
function M.command(root)
  local cmd = config.options.cmd
  if type(cmd) == 'function' then
    cmd = cmd(root)
  end
  if cmd then
    return vim.deepcopy(cmd), 'the cmd option'
  end
  local venv = vim.fn.has('win32') == 1 and { '.venv', 'Scripts', 'ghostwright.exe' }
    or { '.venv', 'bin', 'ghostwright' }
  local local_server = vim.fs.joinpath(root, unpack(venv))
  if vim.fn.executable(local_server) == 1 then
    return { local_server, 'serve' }, 'the project virtual environment'
  end
  local on_path = vim.fn.exepath('ghostwright')
  if on_path ~= '' then
    return { on_path, 'serve' }, 'PATH'
  end
  local message = 'no `ghostwright` command: not in %s, not on PATH. Install Ghostwright '
    .. '(`pip install -e /path/to/ghostwright`) or set `cmd` in require("ghostwright").setup()'
  return nil, message:format(local_server)
end

--- The command-line program of a server command: its words before `serve`.
---@param cmd string[]
---@return string[]
function M.program(cmd)
  local words = {}
  for _, word in ipairs(cmd) do
    if word == 'serve' then
      return words
    end
    words[#words + 1] = word
  end
  return { cmd[1] }
end

--- Why a server command cannot run, or nil when it can.
---@param cmd string[]
---@return string?
function M.problem(cmd)
  if vim.fn.executable(cmd[1]) ~= 1 then
    return ('Ghostwright: the server command `%s` is not an executable program. '):format(cmd[1])
      .. 'Install Ghostwright (`pip install -e /path/to/ghostwright`) or fix `cmd` in '
      .. 'require("ghostwright").setup(); `:checkhealth ghostwright` tells more.'
  end
end

local function on_status(_, params, ctx)
  if type(params) ~= 'table' then
    return
  end
  local state, detail = tostring(params.state), tostring(params.detail or '')
  M.status[ctx.client_id] = { state = state, detail = detail }
  if state == 'failed' then
    -- The server also shows the failure (window/showMessage); M.error shows it once.
    M.error('Ghostwright: ' .. detail)
  end
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'GhostwrightStatus',
    modeline = false,
    data = { client_id = ctx.client_id, state = state, detail = detail },
  })
  vim.cmd.redrawstatus() -- for statuslines that show require('ghostwright').statusline()
end

local function on_show_message(err, params, ctx, handler_config)
  if type(params) == 'table' and params.type == vim.lsp.protocol.MessageType.Error then
    M.error(tostring(params.message))
    return
  end
  return vim.lsp.handlers['window/showMessage'](err, params, ctx, handler_config)
end

local function on_exit(code, signal, client_id)
  M.status[client_id] = nil
  if code ~= 0 then
    -- Neovim itself shows that the client quit; recorded for :checkhealth.
    local message = 'Ghostwright: the server exited with code %d (signal %d); '
      .. '`:Ghostwright log` shows why.'
    M.record_error(message:format(code, signal))
  end
end

--- Start (or reuse) the client of the buffer's project root and attach it to the buffer.
---@param bufnr integer
---@return integer? client_id
function M.start(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local root = M.root(bufnr)
  local cmd, how = M.command(root)
  if not cmd then
    M.error('Ghostwright: ' .. how)
    return nil
  end
  local problem = M.problem(cmd)
  if problem then
    M.error(problem)
    return nil
  end
  -- An empty table would go out as a JSON list.
  local settings = next(config.options.settings) and config.options.settings or vim.empty_dict()
  local ok, client_id = pcall(vim.lsp.start, {
    name = M.NAME,
    cmd = cmd,
    root_dir = root,
    init_options = { ghostwright = settings },
    handlers = {
      ['ghostwright/status'] = on_status,
      ['window/showMessage'] = on_show_message,
    },
    on_exit = on_exit,
    on_attach = function(client, attached)
      if M.on_attach then
        M.on_attach(client, attached)
      end
    end,
  }, { bufnr = bufnr, silent = true })
  if not ok or not client_id then
    M.error(
      ('Ghostwright: could not start `%s`: %s'):format(
        table.concat(cmd, ' '),
        ok and 'see `:Ghostwright log`' or tostring(client_id)
      )
    )
    return nil
  end
  return client_id
end

---@param filter {bufnr: integer?}?
---@return vim.lsp.Client[]
function M.clients(filter)
  local query = vim.tbl_extend('force', filter or {}, { name = M.NAME })
  return vim.lsp.get_clients(query)
end

--- Whether a client is one of ours.
---@param client_id integer
---@return boolean
function M.is_ours(client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  return client ~= nil and client.name == M.NAME
end

return M
