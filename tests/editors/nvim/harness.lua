--- Runs a test scenario in a real Neovim as a coroutine, so that the editor's main loop runs
--- between its steps: keys given with `H.input` are typed as a person would type them (the
--- insert-mode autocommands fire) and LSP messages come and go while the scenario waits.
---
--- Parameters come from the JSON file named by $GHOSTWRIGHT_TEST_PARAMS (`cmd`, `file`,
--- `setup`: extra setup() options, and the scenario's own); the results go to the JSON file
--- named by $GHOSTWRIGHT_TEST_RESULTS, with Neovim's messages and the LSP log's end, and
--- `done = true` when the scenario ran to its end.
local H = {}

local uv = vim.uv or vim.loop
local api = vim.api

local function read_json(path)
  local file = assert(io.open(path, 'r'))
  local text = file:read('*a')
  file:close()
  return vim.json.decode(text)
end

H.params = read_json(assert(vim.env.GHOSTWRIGHT_TEST_PARAMS))
H.results = { decisions = {} }

local scenario ---@type thread
local finished = false

local function now_ms()
  return uv.hrtime() / 1e6
end

-- What the plugin reports of each accept, partial accept and dismissal.
api.nvim_create_autocmd('User', {
  pattern = 'GhostwrightDecision',
  callback = function(args)
    table.insert(H.results.decisions, args.data)
  end,
})

local function write_results()
  local results = H.results
  results.messages = api.nvim_exec2('messages', { output = true }).output
  local file = io.open(require('vim.lsp.log').get_filename(), 'r')
  if file then
    results.lsp_log_tail = file:read('*a'):sub(-6000)
    file:close()
  end
  local out = assert(io.open(assert(vim.env.GHOSTWRIGHT_TEST_RESULTS), 'w'))
  out:write(vim.json.encode(results))
  out:close()
end

--- Stop the clients (the server flushes its telemetry on shutdown), wait for them to exit,
--- write the results and quit.
local function finish()
  if finished then
    return
  end
  finished = true
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop()
  end
  local started = now_ms()
  local function poll()
    local running = #vim.lsp.get_clients() > 0
    if running and now_ms() - started < 15000 then
      vim.defer_fn(poll, 50)
      return
    end
    H.results.clients_still_running = running
    write_results()
    vim.cmd('qa!')
  end
  poll()
end

local function resume(...)
  local ok, err = coroutine.resume(scenario, ...)
  if not ok then
    H.results.error = debug.traceback(scenario, tostring(err))
    finish()
  elseif coroutine.status(scenario) == 'dead' then
    H.results.done = true
    finish()
  end
end

--- Wait until `condition()` returns a true value (which is returned), polling every 20 ms
--- while the editor runs; fail the scenario naming `what` after `timeout_ms`.
---@param timeout_ms integer
---@param condition fun(): any
---@param what string
function H.wait(timeout_ms, condition, what)
  local deadline = now_ms() + timeout_ms
  local function poll()
    local ok, value = pcall(condition)
    if not ok then
      resume(false, value)
    elseif value then
      resume(true, value)
    elseif now_ms() > deadline then
      resume(false, ('timed out after %d ms waiting for %s'):format(timeout_ms, what))
    else
      vim.defer_fn(poll, 20)
    end
  end
  vim.schedule(poll)
  local ok, value = coroutine.yield()
  if not ok then
    error(value, 2)
  end
  return value
end

--- Type keys (`nvim_input` notation: 'A', '<Tab>', '<Esc>') as a person would; Neovim reads
--- them once the scenario waits (`H.wait` on what they should do).
---@param keys string
function H.input(keys)
  api.nvim_input(keys)
end

--- The plugin set up as the parameters say: the server command, extra options.
function H.setup()
  local cmd = H.params.cmd ~= vim.NIL and H.params.cmd or nil -- null: the plugin finds it
  local options = vim.tbl_extend('force', { cmd = cmd }, H.params.setup or {})
  require('ghostwright').setup(options)
end

--- The ghostwright client of the current buffer once its server says the model is ready.
---@return vim.lsp.Client
function H.ready_client()
  local server = require('ghostwright.server')
  return H.wait(30000, function()
    local client = server.clients({ bufnr = 0 })[1]
    local status = client and server.status[client.id]
    assert(not (status and status.state == 'failed'), status and status.detail)
    return status and status.state == 'ready' and client
  end, 'the server to be ready')
end

--- Ghost text on screen in the current buffer: the text of the extmarks of `namespace`
--- (first line and virtual lines, joined by line breaks), or nil when none.
---@param namespace integer
---@return string?
function H.ghost_text(namespace)
  local marks = api.nvim_buf_get_extmarks(0, namespace, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local details = marks[1][4]
  local function text_of(chunks)
    local parts = {}
    for _, chunk in ipairs(chunks or {}) do
      parts[#parts + 1] = chunk[1]
    end
    return table.concat(parts)
  end
  local lines = { text_of(details.virt_text) }
  for _, virt_line in ipairs(details.virt_lines or {}) do
    lines[#lines + 1] = text_of(virt_line)
  end
  return table.concat(lines, '\n')
end

--- Open the file, go to the end of its last line in insert mode, type `typed`, and wait for
--- a suggestion in `namespace`; return its ghost text.
---@param namespace integer
---@param typed string
---@return string
function H.suggest(namespace, typed)
  vim.cmd.edit(vim.fn.fnameescape(H.params.file))
  H.results.client_id = H.ready_client().id
  local last = api.nvim_buf_line_count(0)
  if api.nvim_buf_get_lines(0, last - 1, last, false)[1] == '' then
    last = last - 1
  end
  api.nvim_win_set_cursor(0, { last, 0 })
  H.input('A')
  H.wait(5000, function()
    return api.nvim_get_mode().mode == 'i'
  end, 'insert mode')
  H.input(typed)
  H.wait(5000, function()
    return vim.endswith(api.nvim_get_current_line(), typed)
  end, 'the typed text in the buffer')
  H.results.line_before = api.nvim_get_current_line()
  return H.wait(30000, function()
    return H.ghost_text(namespace)
  end, 'a suggestion on screen')
end

--- The last decision the plugin reported, once there are `count`.
---@param count integer
---@return table
function H.decision(count)
  return H.wait(5000, function()
    return #H.results.decisions >= count and H.results.decisions[count]
  end, 'decision ' .. count)
end

--- Text of the current buffer.
---@return string
function H.buffer_text()
  return table.concat(api.nvim_buf_get_lines(0, 0, -1, false), '\n')
end

--- Run `fn` as the scenario once Neovim has started.
---@param fn fun()
function H.run(fn)
  scenario = coroutine.create(fn)
  vim.schedule(function()
    resume()
  end)
end

return H
