-- The extmark renderer, forced: the suggestion shows as extmarks holding the item's text;
-- the accept-word key inserts its first word, the accept-line key then its (next) line.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local H = dofile(vim.fs.joinpath(here, 'harness.lua'))

--- Spy on the client's inlineCompletion answers: the items of the last non-empty one.
local function record_answers(client)
  local request = client.request
  H.results.requests = 0
  client.request = function(self, method, params, handler, bufnr)
    if method ~= 'textDocument/inlineCompletion' then
      return request(self, method, params, handler, bufnr)
    end
    H.results.requests = H.results.requests + 1
    return request(self, method, params, function(err, result, ctx)
      local items = result and (result.items or result) or {}
      if #items > 0 then
        H.results.answers = H.results.answers or {}
        table.insert(H.results.answers, { items[1].insertText })
      end
      return handler(err, result, ctx)
    end, bufnr)
  end
end

local function last_answer()
  local answers = H.results.answers or {}
  return answers[#answers] and answers[#answers][1]
end

H.run(function()
  H.setup()
  local ghostwright = require('ghostwright')
  local ghost = require('ghostwright.ghost')
  H.results.renderer = ghostwright.renderer_name()
  local server = require('ghostwright.server')
  vim.api.nvim_create_autocmd('LspAttach', {
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == server.NAME then
        record_answers(client)
      end
    end,
  })
  H.results.first_ghost = H.suggest(ghost.namespace, 'item')
  H.results.first_item = last_answer()
  H.results.native_enabled = vim.lsp.inline_completion.is_enabled({ bufnr = 0 })

  H.input('<M-Right>')
  H.results.word_decision = H.decision(1)
  H.wait(5000, function()
    return vim.api.nvim_get_current_line() ~= H.results.line_before
  end, 'the word in the buffer')
  H.results.line_after_word = vim.api.nvim_get_current_line()

  H.results.second_ghost = H.wait(30000, function()
    return H.ghost_text(ghost.namespace)
  end, 'the next suggestion')
  H.results.second_item = last_answer()
  H.input('<M-C-Right>')
  H.results.line_decision = H.decision(2)
  H.wait(5000, function()
    return vim.api.nvim_get_current_line() ~= H.results.line_after_word
  end, 'the line in the buffer')
  H.results.line_after_line = vim.api.nvim_get_current_line()
  H.results.buffer = H.buffer_text()

  -- Suggestions off: typing asks nothing.
  vim.cmd('Ghostwright toggle')
  local requests = H.results.requests
  H.input(' ')
  H.wait(5000, function()
    return vim.endswith(vim.api.nvim_get_current_line(), ' ')
  end, 'a space typed')
  vim.wait(3 * require('ghostwright.config').options.debounce_ms + 200)
  H.results.requests_while_off = H.results.requests - requests
  H.input('<Esc>')
  H.wait(5000, function()
    return #vim.api.nvim_buf_get_extmarks(0, ghost.namespace, 0, -1, {}) == 0
      and vim.api.nvim_get_mode().mode == 'n'
  end, 'normal mode, no ghost text')
end)
