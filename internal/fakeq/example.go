package fakeq

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/qconnect/qconnect/kdb/ipc"
)

// Base is the first instant of the example's fixed tables.
var Base = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)

// The example's fixed tables. MemRows and TradeRows are their sizes.
const (
	MemRows   = 3 * 360 // one hour of 10 s samples for three servers
	TradeRows = 100000
)

var (
	exampleOnce sync.Once
	memTable    ipc.Table
	tradeTable  ipc.Table
)

func exampleTables() {
	exampleOnce.Do(func() {
		servers := []string{"server_A", "server_B", "server_C"}
		n := MemRows
		tm := make([]ipc.Timestamp, n)
		sym := make([]string, n)
		used, free, cpu := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := 0; i < n; i++ {
			tm[i] = ipc.TimestampOf(Base.Add(time.Duration(i/3) * 10 * time.Second))
			sym[i] = servers[i%3]
			used[i] = 1000 + float64(i%97)*3.5
			free[i] = 8192 - used[i]
			cpu[i] = math.Round(float64((i*37)%100)) / 100
		}
		memTable = ipc.Table{Columns: []string{"time", "sym", "usedMB", "freeMB", "cpuLoad"},
			Data: []any{tm, sym, used, free, cpu}}

		names := []string{"AAPL", "AMZN", "GOOG", "IBM", "MSFT"}
		n = TradeRows
		tt := make([]ipc.Timestamp, n)
		ts := make([]string, n)
		price := make([]float64, n)
		size := make([]int64, n)
		side := make([]string, n)
		open := Base.Add(9*time.Hour + 30*time.Minute)
		for i := 0; i < n; i++ {
			tt[i] = ipc.TimestampOf(open.Add(time.Duration(i) * 100 * time.Millisecond))
			ts[i] = names[i%len(names)]
			price[i] = 100 + float64(i%len(names))*50 + float64((i*7919)%1000)/100
			size[i] = int64(100 * (1 + (i*31)%10))
			side[i] = [2]string{"buy", "sell"}[(i/5)%2]
		}
		tradeTable = ipc.Table{Columns: []string{"time", "sym", "price", "size", "side"},
			Data: []any{tt, ts, price, size, side}}
	})
}

// MemTable and TradeTable return the example's fixed tables (shared: do
// not modify).
func MemTable() ipc.Table   { exampleTables(); return memTable }
func TradeTable() ipc.Table { exampleTables(); return tradeTable }

// Example registers the functions of examples/kdb's q script, answering
// from the fixed tables, and the tickerplant tables monMem and trade
// (empty). Each function takes one dictionary of parameters; a null
// parameter means "not given":
//
//	.monPublic.getMem[`start`end`syms!...]      rows of monMem, start <= time < end
//	.marketData.listSyms[()!()]                 the distinct trade syms
//	.marketData.getTrades[`syms`start`end`limit!...]  trades, first limit rows
//	.marketData.getVwap[`syms!...]              keyed table ([sym] vwap; volume)
//	.marketData.lastPrice[`syms!...]            dictionary sym -> last price
//	.monPublic.broken[x]                        signals 'type
//
// and the functions of the backend conformance suite (see conformance).
func (s *Server) Example() {
	exampleTables()
	s.Handle(".monPublic.getMem", func(args []any) (any, error) {
		p, err := params(args)
		if err != nil {
			return nil, err
		}
		t := MemTable()
		tm, sym := column[[]ipc.Timestamp](t, "time"), column[[]string](t, "sym")
		start, end, syms := p.ts("start"), p.ts("end"), p.syms("syms")
		return take(t, where(len(tm), func(i int) bool {
			return (start == nil || tm[i] >= *start) && (end == nil || tm[i] < *end) && (syms == nil || syms[sym[i]])
		})), nil
	})
	s.Handle(".marketData.listSyms", func(args []any) (any, error) {
		seen := map[string]bool{}
		for _, x := range column[[]string](TradeTable(), "sym") {
			seen[x] = true
		}
		out := make([]string, 0, len(seen))
		for x := range seen {
			out = append(out, x)
		}
		sort.Strings(out)
		return ipc.Table{Columns: []string{"sym"}, Data: []any{out}}, nil
	})
	s.Handle(".marketData.getTrades", func(args []any) (any, error) {
		p, err := params(args)
		if err != nil {
			return nil, err
		}
		t := TradeTable()
		tm, sym := column[[]ipc.Timestamp](t, "time"), column[[]string](t, "sym")
		start, end, syms := p.ts("start"), p.ts("end"), p.syms("syms")
		limit := int64(math.MaxInt64)
		if l, ok := p["limit"].(int64); ok && l != ipc.NullLong {
			limit = l
		}
		var idx []int
		for i := range tm {
			if int64(len(idx)) >= limit {
				break
			}
			if (start == nil || tm[i] >= *start) && (end == nil || tm[i] < *end) && (syms == nil || syms[sym[i]]) {
				idx = append(idx, i)
			}
		}
		return take(t, idx), nil
	})
	s.Handle(".marketData.getVwap", func(args []any) (any, error) {
		p, err := params(args)
		if err != nil {
			return nil, err
		}
		syms := p.syms("syms")
		t := TradeTable()
		sym, price, size := column[[]string](t, "sym"), column[[]float64](t, "price"), column[[]int64](t, "size")
		pv, vol := map[string]float64{}, map[string]int64{}
		for i := range sym {
			if syms == nil || syms[sym[i]] {
				pv[sym[i]] += price[i] * float64(size[i])
				vol[sym[i]] += size[i]
			}
		}
		keys := make([]string, 0, len(vol))
		for k := range vol {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vw, vo := make([]float64, len(keys)), make([]int64, len(keys))
		for i, k := range keys {
			vw[i], vo[i] = pv[k]/float64(vol[k]), vol[k]
		}
		return ipc.Dict{
			Key:   ipc.Table{Columns: []string{"sym"}, Data: []any{keys}},
			Value: ipc.Table{Columns: []string{"vwap", "volume"}, Data: []any{vw, vo}},
		}, nil
	})
	s.Handle(".marketData.lastPrice", func(args []any) (any, error) {
		p, err := params(args)
		if err != nil {
			return nil, err
		}
		syms := p.syms("syms")
		t := TradeTable()
		sym, price := column[[]string](t, "sym"), column[[]float64](t, "price")
		last := map[string]float64{}
		for i := range sym {
			if syms == nil || syms[sym[i]] {
				last[sym[i]] = price[i]
			}
		}
		keys := make([]string, 0, len(last))
		for k := range last {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]float64, len(keys))
		for i, k := range keys {
			vals[i] = last[k]
		}
		return ipc.Dict{Key: keys, Value: vals}, nil
	})
	s.Handle(".monPublic.broken", func(args []any) (any, error) {
		return nil, &ipc.Error{Msg: "type"}
	})
	empty := MemTable()
	s.SetTable("monMem", take(empty, nil))
	s.SetTable("trade", take(TradeTable(), nil))
	s.conformance()
}

// paramDict is a call's one dictionary argument.
type paramDict map[string]any

func params(args []any) (paramDict, error) {
	if len(args) != 1 {
		return nil, &ipc.Error{Msg: "rank"}
	}
	d, ok := args[0].(ipc.Dict)
	if !ok {
		return nil, &ipc.Error{Msg: "type"}
	}
	p := paramDict{}
	keys, ok := d.Key.([]string)
	if !ok {
		if _, empty := d.Key.([]any); empty {
			return p, nil // ()!()
		}
		return nil, &ipc.Error{Msg: "type"}
	}
	switch vals := d.Value.(type) {
	case []any:
		for i, k := range keys {
			p[k] = vals[i]
		}
	case []string:
		for i, k := range keys {
			p[k] = ipc.Symbol(vals[i])
		}
	default:
		return nil, &ipc.Error{Msg: "type"}
	}
	return p, nil
}

func (p paramDict) ts(name string) *ipc.Timestamp {
	t, ok := p[name].(ipc.Timestamp)
	if !ok || int64(t) == ipc.NullLong {
		return nil
	}
	return &t
}

// syms returns the set of a symbol-list parameter, nil when it is absent,
// null (`) or empty.
func (p paramDict) syms(name string) map[string]bool {
	switch x := p[name].(type) {
	case []string:
		if len(x) == 0 {
			return nil
		}
		m := map[string]bool{}
		for _, s := range x {
			m[s] = true
		}
		return m
	case ipc.Symbol:
		if x != "" {
			return map[string]bool{string(x): true}
		}
	}
	return nil
}
