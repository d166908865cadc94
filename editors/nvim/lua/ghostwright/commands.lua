--- `:Ghostwright status|toggle|log|train|export [PATH]|nextedit [apply|dismiss]`.
local config = require('ghostwright.config')
local server = require('ghostwright.server')

local M = {}

local function notify(message, level)
  vim.notify(message, level or vim.log.levels.INFO, { title = 'Ghostwright' })
end

--- The state of the plugin, its clients and the server, as lines.
---@return string[]
function M.status_lines()
  local ghostwright = require('ghostwright')
  local lines = {
    ('Ghostwright: suggestions %s, renderer %s, next edits %s%s'):format(
      ghostwright.enabled and 'on' or 'off',
      ghostwright.renderer_name(),
      config.options.next_edit.enabled and 'on' or 'off',
      ghostwright.configured and '' or ' (setup() not called)'
    ),
  }
  local clients = server.clients()
  if #clients == 0 then
    lines[#lines + 1] = 'no server running: open a file of a configured filetype'
  end
  for _, client in ipairs(clients) do
    local status = server.status[client.id]
    local state = status and status.state or 'starting'
    lines[#lines + 1] = ('client %d (%s): %s, model %s'):format(
      client.id,
      client.root_dir or client.config.root_dir or '?',
      server.is_stopped(client) and 'stopping' or 'running',
      state
    )
    if status and status.detail ~= '' then
      local label = state == 'ready' and 'model' or state
      lines[#lines + 1] = ('  %s: %s'):format(label, status.detail)
    end
  end
  if server.last_error then
    local when = os.date('%H:%M:%S', server.last_error.time)
    lines[#lines + 1] = ('last error (%s): %s'):format(when, server.last_error.message)
  end
  return lines
end

function M.status()
  notify(table.concat(M.status_lines(), '\n'))
end

function M.toggle()
  local on = require('ghostwright').toggle()
  notify('Ghostwright suggestions ' .. (on and 'on' or 'off'))
end

--- The LSP log: Neovim writes the server's stderr (Ghostwright's log) there.
function M.log()
  local log = require('vim.lsp.log')
  vim.cmd.tabnew(vim.fn.fnameescape(log.get_filename()))
end

--- The `ghostwright` program of the current buffer's project (the server command less `serve`).
---@return string[]?
local function program()
  local cmd, why = server.command(server.root(vim.api.nvim_get_current_buf()))
  if not cmd then
    notify('Ghostwright: ' .. why, vim.log.levels.ERROR)
    return nil
  end
  return server.program(cmd)
end

--- Run the program with `args` as a job; tell the result when it ends.
---@param args string[]
---@param what string
---@param on_done fun(ok: boolean, output: string)?
function M.run(args, what, on_done)
  local command = program()
  if not command then
    return
  end
  vim.list_extend(command, args)
  notify(what .. ': running `' .. table.concat(command, ' ') .. '`')
  local ok, err = pcall(vim.system, command, { text = true }, function(result)
    local output = vim.trim((result.stdout or '') .. '\n' .. (result.stderr or ''))
    local tail = table.concat(vim.list_slice(vim.split(output, '\n'), -12), '\n')
    vim.schedule(function()
      if result.code == 0 then
        notify(what .. ' done\n' .. tail)
      else
        local message = ('%s failed (exit %d)\n%s'):format(what, result.code, tail)
        server.error('Ghostwright: ' .. message)
      end
      if on_done then
        on_done(result.code == 0, output)
      end
    end)
  end)
  if not ok then
    server.error(('Ghostwright: %s could not start: %s'):format(what, err))
  end
end

function M.train()
  M.run({ 'train', '--from-telemetry' }, 'Ghostwright train')
end

---@param path string?
function M.export(path)
  if not path or path == '' then
    path = vim.fs.joinpath(vim.fn.getcwd(), 'ghostwright-telemetry.jsonl')
  end
  path = vim.fn.fnamemodify(vim.fn.expand(path), ':p')
  local format = path:match('%.parquet$') and 'parquet' or 'jsonl'
  M.run({ 'export', '--format', format, '--out', path }, 'Ghostwright export to ' .. path)
end

--- No action: jump to the next edit on screen (at it, apply it), or with none ask the server
--- for one now; `apply` or `dismiss` the one on screen.
---@param action string?
function M.nextedit(action)
  local next_edit = require('ghostwright.next_edit')
  local bufnr = vim.api.nvim_get_current_buf()
  if action and not vim.list_contains(M.arguments.nextedit, action) then
    notify(('Ghostwright: nextedit %s? (apply or dismiss)'):format(action), vim.log.levels.ERROR)
  elseif action then
    next_edit[action](bufnr)
  elseif not next_edit.jump(bufnr) then
    next_edit.request(bufnr)
  end
end

M.subcommands = {
  status = M.status,
  toggle = M.toggle,
  log = M.log,
  train = M.train,
  export = M.export,
  nextedit = M.nextedit,
}

--- What the argument of a subcommand completes to: file names, or a list.
M.arguments = {
  export = 'file',
  nextedit = { 'apply', 'dismiss' },
}

--- `:Ghostwright {subcommand} [argument]`; no subcommand: status.
---@param args string
function M.run_command(args)
  local name, argument = vim.trim(args):match('^(%S*)%s*(.*)$')
  name = name ~= '' and name or 'status'
  local subcommand = M.subcommands[name]
  if not subcommand then
    local names = table.concat(vim.tbl_keys(M.subcommands), ', ')
    notify(('Ghostwright: no subcommand %q (one of %s)'):format(name, names), vim.log.levels.ERROR)
    return
  end
  subcommand(argument ~= '' and argument or nil)
end

---@param lead string
---@return string[]
function M.complete(lead, line)
  local subcommand = line:match('^%s*%S+%s+(%S+)%s')
  local names = subcommand and M.arguments[subcommand] or {}
  if names == 'file' then
    return vim.fn.getcompletion(lead, 'file')
  elseif not subcommand then
    names = vim.tbl_keys(M.subcommands)
    table.sort(names)
  end
  return vim.tbl_filter(function(name)
    return vim.startswith(name, lead)
  end, names)
end

return M
