// SPDX-License-Identifier: ISC
// A slow link to Redis for one machine of lib/cluster.mjs: a TCP relay,
// started in the Redis namespace, that holds what the machine sends for
// DELAY ms (in order) and passes Redis's answers at once. So the
// machine's commands reach Redis late while the other machines' do not:
// what a busy Redis, which reads its clients in no causal order, may do
// by chance (cluster.test.mjs, "a slow link to Redis").
//
//   node slowlink.mjs LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY
//
// It prints "listening" once it accepts, and ends with its parent's
// SIGKILL (lib/cluster.mjs stops it by PID).

import net from 'node:net';

const [host, port, toHost, toPort, delay] = process.argv.slice(2);

const server = net.createServer((client) => {
  const redis = net.connect(Number(toPort), toHost);
  client.setNoDelay(true);
  redis.setNoDelay(true);
  // Each chunk leaves DELAY ms after it came, in the order it came.
  client.on('data', (d) => setTimeout(() => redis.write(d), Number(delay)));
  redis.on('data', (d) => client.write(d));
  const end = () => { client.destroy(); redis.destroy(); };
  client.on('close', () => setTimeout(end, Number(delay)));
  redis.on('close', end);
  client.on('error', end);
  redis.on('error', end);
});
server.listen(Number(port), host, () => process.stdout.write('listening\n'));
