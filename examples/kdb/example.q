/ qconnect example: the demo's monPublic and marketData functions, sample
/ data and a tiny tickerplant, in one q process.
/
/   q examples/kdb/example.q -p 5010
/
/ then start the gateway with examples/kdb/qconnect.yaml (see README.md).
/ Every API function takes ONE argument: a dictionary of the typed
/ parameters, keyed by name. A parameter the caller left out arrives as the
/ typed null of its type (0Np, `, an empty symbol list, ...).

/ ---- sample data: one hour of 10 s memory samples for three servers -------
.ex.base:2024.01.02D00:00:00
.ex.i:til 3*360
mem:([] time:.ex.base+0D00:00:10*.ex.i div 3;
  sym:`server_A`server_B`server_C .ex.i mod 3;
  usedMB:1000+3.5*.ex.i mod 97;
  freeMB:8192-1000+3.5*.ex.i mod 97;
  cpuLoad:((.ex.i*37) mod 100)%100)

/ ---- sample trades: 100,000, one every 100 ms from 09:30 ------------------
.ex.j:til 100000
trades:([] time:.ex.base+0D09:30:00+0D00:00:00.100000000*.ex.j;
  sym:`AAPL`AMZN`GOOG`IBM`MSFT .ex.j mod 5;
  price:100+(50*.ex.j mod 5)+((.ex.j*7919) mod 1000)%100;
  size:100*1+(.ex.j*31) mod 10;
  side:`buy`sell (.ex.j div 5) mod 2)

/ ---- API functions ---------------------------------------------------------
/ rows with start <= time < end of the given syms (all when null/empty)
.ex.window:{[t;d]
  s:d`start; e:d`end; y:d`syms;
  select from t where (null s) or time>=s, (null e) or time<e, (0=count y) or sym in y}

.monPublic.getMem:{[d] .ex.window[mem;d]}
.monPublic.broken:{[d] 'type}

.marketData.listSyms:{[d] ([] sym:asc distinct trades`sym)}
.marketData.getTrades:{[d]
  r:.ex.window[trades;d];
  $[null l:d`limit; r; l sublist r]}
/ a keyed table: the gateway unkeys it (sym, vwap, volume)
.marketData.getVwap:{[d]
  y:d`syms;
  select vwap:size wavg price, volume:sum size by sym from trades where (0=count y) or sym in y}
/ a dictionary sym -> price: the gateway makes it two columns (sym, price)
.marketData.lastPrice:{[d]
  y:d`syms;
  exec last price by sym from trades where (0=count y) or sym in y}

/ ---- the backend conformance suite's functions (engine/enginetest) --------
/ QCONNECT_TEST_KDB=host:port go test ./engine/kdb runs the suite on them.
.ct.allTypes:{[d] ([] b:100b; l:9007199254740993 0N -1; i:0W 0N 0i; h:0N 0N 7h;
  f:1.25 0n -0.5; e:1.5 0N -2e; s:("hello, \"world\"";"";""); sym:`AAPL``; c:"x  ";
  ts:2024.01.02D03:04:05.123456789 0N 1969.12.31D23:59:59.999999000;
  d:2024.01.02 0N 1900.03.01; t:13:30:15.250 0N 00:00:00.000;
  n:1D02:00:00.000003000 0N -0D01:30:00.000000000;
  g:"G"$("12345678-9abc-def0-1234-56789abcdef0";"";""))}
.ct.range:{[d] ([] i:til d`n; s:d[`n]#`sym)}
.ct.midFail:{[d] '"midFail: failed after ",string d`ok}
ctLive:([] time:`timestamp$(); sym:`symbol$(); i:`long$(); x:`float$())

/ ---- a tiny tickerplant (the protocol of kx's tick/u.q) --------------------
/ tables are kept empty: .u.sub answers (table; schema), updates go to the
/ subscribers as (`upd; table; rows) and are not stored.
monMem:0#mem
trade:0#trades
.u.w:`monMem`trade`ctLive!(();();())       / per table: (handle; syms) pairs

/ .u.sub[table; syms]: syms is ` for all, or a symbol list
.u.sub:{[t;s]
  if[not t in key .u.w; 'string t];
  .u.w[t],:enlist(.z.w;s);
  (t; value t)}

/ .u.upd[table; data]: data is a list of columns (or a table) in the
/ table's column order; returns the number of rows published.
.u.upd:{[t;x]
  if[not t in key .u.w; 'string t];
  if[98=type x; x:value flip x];
  d:flip (cols value t)!x;
  if[not (exec t from meta d)~exec t from meta value t; 'type];
  {[t;d;w] r:$[w[1]~`; d; select from d where sym in w 1];
    if[count r; neg[w 0] (`upd; t; r)]}[t;d] each .u.w t;
  count d}

/ forget the subscriptions of a closed connection
.z.pc:{[h] .u.w:{[h;l] l where not h=first each l}[h] each .u.w}
