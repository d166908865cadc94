--- `:checkhealth ghostwright`: Neovim, the server command, the model, the running clients,
--- and the last error the plugin saw.
local M = {}

local health = vim.health

--- How long `ghostwright doctor` may take before it counts as hanging.
local DOCTOR_TIMEOUT_MS = 30000

--- The model lines of `ghostwright doctor`: its path, or the problem it reports.
---@param output string
---@return string? path, string? problem
local function model_from_doctor(output)
  local section = output:match('\nModel\n(.-)\n\n') or output:match('\nModel\n(.*)$') or ''
  local problem = section:match('PROBLEM:%s*([^\n]+)')
  if problem then
    return nil, problem
  end
  return section:match('path%s+([^\n]+)'), nil
end

local function check_doctor(cmd)
  local server = require('ghostwright.server')
  local settings = require('ghostwright.config').options.settings
  local command = vim.list_extend(server.program(cmd), { 'doctor' })
  local env = type(settings.model) == 'string' and { GHOSTWRIGHT_MODEL = settings.model } or nil
  local ok, job = pcall(vim.system, command, { text = true, env = env })
  if not ok then
    health.error(('`%s` could not run: %s'):format(table.concat(command, ' '), job))
    return
  end
  local result = job:wait(DOCTOR_TIMEOUT_MS)
  local output = (result.stdout or '') .. '\n' .. (result.stderr or '')
  if result.code ~= 0 then
    local tail = table.concat(vim.list_slice(vim.split(vim.trim(output), '\n'), -8), '\n')
    local message = ('`%s` failed (exit %d):\n%s')
    health.error(message:format(table.concat(command, ' '), result.code, tail))
    return
  end
  local path, problem = model_from_doctor(output)
  if path then
    health.ok('model: ' .. path)
  elseif problem then
    health.error('model: ' .. problem, { 'Run `ghostwright model fetch`, or set settings.model' })
  else
    health.warn('`ghostwright doctor` named no model:\n' .. output)
  end
end

function M.check()
  local ghostwright = require('ghostwright')
  local server = require('ghostwright.server')

  health.start('Neovim')
  if vim.fn.has('nvim-0.10') == 1 then
    local version = tostring(vim.version())
    health.ok(('Neovim %s, renderer: %s'):format(version, ghostwright.renderer_name()))
  else
    health.error('Neovim 0.10 or newer is needed')
  end
  if ghostwright.configured then
    health.ok("require('ghostwright').setup() was called")
  else
    health.warn("require('ghostwright').setup() was not called: nothing starts the server")
  end

  health.start('Server command')
  local root = server.root(vim.api.nvim_get_current_buf())
  local cmd, how = server.command(root)
  if not cmd then
    health.error(how)
  else
    local problem = server.problem(cmd)
    if problem then
      health.error(problem)
    else
      health.ok(('server command found: `%s` (from %s)'):format(table.concat(cmd, ' '), how))
      check_doctor(cmd)
    end
  end

  health.start('Running servers')
  local clients = server.clients()
  if #clients == 0 then
    health.info('none: open a file of a configured filetype to start one')
  end
  for _, client in ipairs(clients) do
    local status = server.status[client.id]
    local detail = status and status.detail ~= '' and (' (' .. status.detail .. ')') or ''
    local line = ('client %d, root %s: %s%s'):format(
      client.id,
      client.root_dir or '?',
      status and status.state or 'starting',
      detail
    )
    if status and status.state == 'failed' then
      health.error(line)
    else
      health.ok(line)
    end
  end

  health.start('Errors')
  if server.last_error then
    local when = os.date('%Y-%m-%d %H:%M:%S', server.last_error.time)
    health.warn(('last error (%s): %s'):format(when, server.last_error.message))
  else
    health.ok('no error seen')
  end
end

return M
