-- wrk script of the production benchmark (bench/production.py): send pre-made raw requests.
--
--   wrk -t<threads> ... -s bench/requests.lua <url> -- <requests file> <separator> <threads>
--
-- The file holds whole HTTP requests (bench/visitors.py writes them) between separators. Each
-- wrk thread sends only its own share (request i goes to thread i mod threads), so no request
-- is sent by two threads; a thread that has sent all of its share starts it again and counts
-- the wrap, which done() reports (for events or comments, a repeat is a duplicate). done() also
-- prints how many responses each status code got, for the harness to count what was accepted.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   local data = file:read("*a")
   file:close()
   local separator = args[2]:gsub("\\n", "\n")
   local all = {}
   local start = 1
   while true do
      local from, to = data:find(separator, start, true)
      if not from then
         table.insert(all, data:sub(start))
         break
      end
      table.insert(all, data:sub(start, from - 1))
      start = to + 1
   end
   mine = {}
   local count = tonumber(args[3])
   for i, raw in ipairs(all) do
      if (i - 1) % count == id then
         table.insert(mine, raw)
      end
   end
   position = 0
   wraps = 0
   statuses = {}
end

function request()
   position = position + 1
   if position > #mine then
      position = 1
      wraps = wraps + 1
   end
   return mine[position]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local wrapped = 0
   local totals = {}
   for _, thread in ipairs(threads) do
      wrapped = wrapped + thread:get("wraps")
      local counts = thread:get("statuses")
      for status, n in pairs(counts) do
         totals[status] = (totals[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(totals) do
      table.insert(parts, status .. "=" .. n)
   end
   io.write("bench-wraps " .. wrapped .. "\n")
   io.write("bench-statuses " .. table.concat(parts, " ") .. "\n")
end
