// Dynatrace OpenKit (npm @dynatrace/openkit-js) as an app embeds it: a SaaS beacon URL, an
// application id, a device id, device details, one session with an identified user, an action
// with a named event, two reported values, an error, and a crash. Prints what the SDK reported.
const { OpenKitBuilder } = require('@dynatrace/openkit-js');

const honey = JSON.parse(process.argv[2]);
const openKit = new OpenKitBuilder('https://bf12345abc.bf.dynatrace.com/mbeacon', honey.dynatrace_app, honey.device_id)
  .withApplicationVersion('3.2.1')
  .withOperatingSystem('Android 14')
  .withManufacturer('Google')
  .withModelId('Pixel 8')
  .withUserLanguage('de-DE')
  .withScreenResolution(1080, 2400)
  .withDataCollectionLevel(2)
  .withCrashReportingLevel(2)
  .build();

openKit.waitForInit((ok) => {
  console.log(ok ? 'initialized' : 'init failed');
  if (!ok) process.exit(1);
  const session = openKit.createSession(honey.client_ip);
  session.identifyUser(honey.email);
  const action = session.enterAction('Checkout');
  action.reportEvent('coupon_applied');
  action.reportValue('coupon', honey.coupon);
  action.reportValue('amount', 42.5);
  action.reportError('payment failed', 402);
  action.leaveAction();
  session.reportCrash('TypeError', 'cart is undefined', 'at checkout (cart.js:12)');
  session.end();
  openKit.shutdown(() => console.log('shut down'));
}, 10000);
