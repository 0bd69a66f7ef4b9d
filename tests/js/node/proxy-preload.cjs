// Preload (`node -r ./proxy-preload.cjs driver.js`) that sends every HTTPS request of a Node
// process through the proxy named by HTTPS_PROXY (or HTTP_PROXY):
//  - fetch: Node 20's built-in fetch (undici) ignores the *_PROXY variables, so an undici
//    ProxyAgent becomes the global dispatcher (built-in fetch reads the same global symbol);
//  - https.request/https.get (mixpanel, Amplitude, axios in RudderStack): every request gets an
//    https-proxy-agent, whatever agent the SDK passed (mixpanel passes its own keep-alive agent).
// The proxy's CA comes from NODE_EXTRA_CA_CERTS, which Node adds to its default trust store.
// The *_PROXY variables are then removed so no SDK proxies a second time on its own: axios
// would, and mixpanel 0.24.0 crashes when HTTPS_PROXY is set (lib/mixpanel-node.js calls
// `new HttpsProxyAgent(...)` on https-proxy-agent 7's module object, which is not a constructor).
'use strict';
const https = require('https');

const proxy = process.env.HTTPS_PROXY || process.env.https_proxy || process.env.HTTP_PROXY || process.env.http_proxy;
if (proxy) {
  const {ProxyAgent, setGlobalDispatcher} = require('undici');
  setGlobalDispatcher(new ProxyAgent(proxy));

  const {HttpsProxyAgent} = require('https-proxy-agent');
  const agent = new HttpsProxyAgent(proxy);
  https.globalAgent = agent;
  const withAgent = (original) => function (...args) {
    // request(url[, options][, callback]) or request(options[, callback])
    const at = (typeof args[0] === 'string' || args[0] instanceof URL) ? 1 : 0;
    if (args[at] === undefined || typeof args[at] === 'function') {
      args.splice(at, 0, {});
    }
    args[at] = {...args[at], agent};
    return original.apply(this, args);
  };
  https.request = withAgent(https.request);
  https.get = withAgent(https.get);

  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']) {
    delete process.env[name];
  }
}
