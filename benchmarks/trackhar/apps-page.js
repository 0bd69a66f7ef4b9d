// The second page of bench_trackhar.py's adtech corpus, served as /apps.js: a shop's web app
// with the Adjust and Singular web SDKs (npm, as tests/e2e/test_attribution_sdks.py loads
// them). `?user=K&events=N`: one user starts a session and sends N purchase events to each SDK.
(function () {
  var query = new URLSearchParams(location.search);
  var user = Number(query.get("user") || 1);
  var events = Number(query.get("events") || 1);
  var email = "buyer" + user + "@example.org";
  Adjust.initSdk({appToken: "benchadjtokn", environment: "production", attributionCallback: function () {}});
  singularSdk.init(new SingularConfig("bench_singular_key", "benchsecret", "example.shop.web")
    .withCustomUserId("shop-user-" + user));
  for (var i = 0; i < events; i++) {
    var sku = "SKU-" + (user * 1000 + i), price = ((user * 31 + i * 17) % 9000) / 100;
    Adjust.trackEvent({eventToken: "purch1", revenue: price, currency: "EUR", deduplicationId: "order-" + user + "-" + i,
                       callbackParams: [{key: "user_email", value: email}, {key: "sku", value: sku}],
                       partnerParams: [{key: "basket_size", value: String(1 + i % 5)}]});
    singularSdk.revenue("purchase", "EUR", price, {sku: sku, user_email: email, step: i});
  }
})();
