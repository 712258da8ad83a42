// The reference server of `octobase bench server`: the y-websocket server
// (@y/websocket-server's setupWSConnection, wired the way its own
// src/server.js wires it: an http server, a ws server without its own port,
// every upgrade handed to setupWSConnection), in memory, no persistence.
//
// It speaks the benchmark's child protocol (child.go): it prints
// "listening <host:port>" once it listens on a loopback port, then answers
// one command per stdin line: "stats" prints a JSON line
// {cpu_ns, rss, go_mem, goroutines} (CPU of the whole process, user and
// system; go_mem is V8's heap and external memory after a full GC; no
// goroutines); anything else is answered "unsupported <command>". The end of
// stdin ends the process.
//
// Run with --expose-gc and NODE_PATH pointing at the node_modules that hold
// @y/websocket-server (serverbench does both).
'use strict'

const http = require('http')
const readline = require('readline')
const WebSocket = require('ws')
const { setupWSConnection } = require('@y/websocket-server/utils')

const wss = new WebSocket.Server({ noServer: true })
wss.on('connection', setupWSConnection)

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.end('okay')
})
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, ws => wss.emit('connection', ws, req))
})

server.listen(0, '127.0.0.1', () => {
  const a = server.address()
  process.stdout.write(`listening ${a.address}:${a.port}\n`)
})

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', line => {
  const cmd = line.split(' ')[0]
  if (cmd !== 'stats') {
    process.stdout.write(`unsupported ${cmd}\n`)
    return
  }
  const cpu = process.cpuUsage() // before the GC, which is the sample's own
  const ru = process.resourceUsage()
  if (typeof global.gc === 'function') global.gc()
  const mem = process.memoryUsage()
  process.stdout.write(JSON.stringify({
    cpu_ns: (cpu.user + cpu.system) * 1000,
    switches: ru.voluntaryContextSwitches + ru.involuntaryContextSwitches,
    rss: mem.rss,
    go_mem: mem.heapUsed + mem.external,
    goroutines: 0
  }) + '\n')
})
rl.on('close', () => process.exit(0))
