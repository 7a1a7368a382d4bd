package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// dataCatalog is the catalog of the --data tests.
var dataCatalog = filepath.Join("e2e", "testdata", "datadir", "catalog.yaml")

// A fill of fills.parquet, by the formulas of e2e/testdata/datadir/mkfills.go.
type fill struct {
	time time.Time
	sym  string
	qty  int64
	px   float64
}

func fills() []fill {
	out := make([]fill, 1000)
	t0 := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = fill{t0.Add(time.Duration(7*i) * time.Second), [...]string{"ALPHA", "BETA", "GAMMA"}[i%3],
			int64(i*37%500 + 1), 100 + float64(i%50)*0.25}
	}
	return out
}

// An order of orders.csv, which the test writes.
type order struct {
	id       int64
	customer string
	placed   time.Time
	cents    int64
}

func orders() []order {
	customers := []string{"Acme, Inc.", "Globex", `Umbrella "Corp"`, "Initech"}
	out := make([]order, 240)
	t0 := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range out {
		id := int64(i + 1)
		out[i] = order{id, customers[id*7%4], t0.Add(time.Duration(id*17) * time.Minute), id * 1379 % 100000}
	}
	return out
}

// writeOrdersCSV writes orders() as a CSV file with a header, quoting the
// names that need it.
func writeOrdersCSV(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"id", "customer", "placed", "amount"})
	for _, o := range orders() {
		_ = w.Write([]string{strconv.FormatInt(o.id, 10), o.customer, o.placed.Format("2006-01-02 15:04:05"),
			fmt.Sprintf("%d.%02d", o.cents/100, o.cents%100)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// dataDir makes a --data directory holding fills.parquet (committed, made by
// mkfills.go) and orders.csv (written here).
func dataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pq, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "e2e", "testdata", "datadir", "fills.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fills.parquet"), pq, 0o644); err != nil {
		t.Fatal(err)
	}
	writeOrdersCSV(t, filepath.Join(dir, "orders.csv"))
	return dir
}

// TestDataDir serves a directory of a Parquet and a CSV file with a catalog
// of its own (--data DIR --catalog FILE --users FILE --demo=false) and
// checks every method against values computed from the files' contents.
func TestDataDir(t *testing.T) {
	t.Parallel()
	users := makeUsers(t, "groups:\n  owners:\n    allow: [data]\n", [2]string{"owner", "owners"})
	g := testenv.StartGateway(t, "--data", dataDir(t), "--catalog", dataCatalog, "--users", users, "--demo=false")
	s := sdkSession(t, g, "owner")

	t.Run("getFills (Parquet)", func(t *testing.T) {
		for _, c := range []struct {
			params map[string]any
			syms   map[string]bool
			minQty int64
		}{
			{nil, nil, 0},
			{map[string]any{"syms": symList("ALPHA", "GAMMA"), "minQty": 250}, symSet("ALPHA", "GAMMA"), 250},
		} {
			res := mdCall(t, s, "data/getFills", c.params, "time", "sym", "qty", "px")
			var want []fill
			for _, f := range fills() {
				if (c.syms == nil || c.syms[f.sym]) && f.qty >= c.minQty {
					want = append(want, f)
				}
			}
			if len(res.Rows) != len(want) {
				t.Fatalf("getFills %v: %d rows, want %d", c.params, len(res.Rows), len(want))
			}
			for k, r := range res.Rows {
				w := want[k]
				if !r[0].(time.Time).Equal(w.time) || r[1] != w.sym || r[2] != w.qty || r[3] != w.px {
					t.Fatalf("getFills %v row %d = %v, want %+v", c.params, k, r, w)
				}
			}
		}
	})

	t.Run("fillStats (Parquet)", func(t *testing.T) {
		res := mdCall(t, s, "data/fillStats", map[string]any{"syms": symList("BETA", "GAMMA")},
			"sym", "fills", "qty", "vwap", "first", "last")
		type stat struct {
			n, qty      int64
			pq          float64
			first, last time.Time
		}
		want := map[string]*stat{}
		for _, f := range fills() {
			if f.sym == "ALPHA" {
				continue
			}
			st := want[f.sym]
			if st == nil {
				st = &stat{first: f.time}
				want[f.sym] = st
			}
			st.n++
			st.qty += f.qty
			st.pq += float64(f.qty) * f.px
			st.last = f.time
		}
		if len(res.Rows) != 2 {
			t.Fatalf("fillStats: %d rows, want BETA and GAMMA", len(res.Rows))
		}
		for k, sym := range []string{"BETA", "GAMMA"} {
			r, w := res.Rows[k], want[sym]
			if r[0] != sym || r[1] != w.n || r[2] != w.qty || !closeTo(r[3].(float64), round4(w.pq/float64(w.qty)), 1e-4) ||
				!r[4].(time.Time).Equal(w.first) || !r[5].(time.Time).Equal(w.last) {
				t.Errorf("fillStats %s = %v, want %+v (vwap %v)", sym, r, *w, round4(w.pq/float64(w.qty)))
			}
		}
	})

	t.Run("getOrders (CSV)", func(t *testing.T) {
		start, end := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(2024, 3, 2, 9, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			params     map[string]any
			customers  map[string]bool
			start, end time.Time
		}{
			{nil, nil, time.Time{}, time.Time{}},
			{map[string]any{"customers": symList("Acme, Inc.", `Umbrella "Corp"`), "start": start, "end": end},
				symSet("Acme, Inc.", `Umbrella "Corp"`), start, end},
		} {
			res := mdCall(t, s, "data/getOrders", c.params, "id", "customer", "placed", "amount")
			var want []order
			for _, o := range orders() {
				if inWindow(o.placed, o.customer, c.customers, c.start, c.end) {
					want = append(want, o)
				}
			}
			if len(res.Rows) != len(want) || len(want) == 0 {
				t.Fatalf("getOrders %v: %d rows, want %d", c.params, len(res.Rows), len(want))
			}
			for k, r := range res.Rows {
				w := want[k]
				if r[0] != w.id || r[1] != w.customer || !r[2].(time.Time).Equal(w.placed) || r[3] != float64(w.cents)/100 {
					t.Fatalf("getOrders %v row %d = %v, want %+v", c.params, k, r, w)
				}
			}
		}
	})

	t.Run("customerTotals (CSV)", func(t *testing.T) {
		res := mdCall(t, s, "data/customerTotals", nil, "customer", "orders", "total", "lastPlaced")
		type tot struct {
			n, cents int64
			last     time.Time
		}
		want := map[string]*tot{}
		var names []string
		for _, o := range orders() {
			if want[o.customer] == nil {
				want[o.customer] = &tot{}
				names = append(names, o.customer)
			}
			w := want[o.customer]
			w.n++
			w.cents += o.cents
			if o.placed.After(w.last) {
				w.last = o.placed
			}
		}
		sort.Strings(names)
		if len(res.Rows) != len(names) {
			t.Fatalf("customerTotals: %d rows, want %d", len(res.Rows), len(names))
		}
		for k, name := range names {
			r, w := res.Rows[k], want[name]
			if r[0] != name || r[1] != w.n || r[2] != float64(w.cents)/100 || !r[3].(time.Time).Equal(w.last) {
				t.Errorf("customerTotals row %d = %v, want %s %d %v %v", k, r, name, w.n, float64(w.cents)/100, w.last)
			}
		}
	})
}

// lineOf returns the 1-based line of the first line of text that equals
// want after trimming spaces.
func lineOf(t *testing.T, text, want string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == want {
			return i + 1
		}
	}
	t.Fatalf("no line %q", want)
	return 0
}

// TestDataDirStartupFailures: a broken CSV file, and a catalog naming a
// table or a column the data lacks, stop `serve` before it listens, with a
// non-zero exit and a message naming the file, the line and the table or
// column.
func TestDataDirStartupFailures(t *testing.T) {
	t.Parallel()
	users := makeUsers(t, "groups:\n  owners:\n    allow: [data]\n", [2]string{"owner", "owners"})
	good, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), dataCatalog))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	writeCat := func(name, text string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missingTable := writeCat("missing-table.yaml", strings.Replace(string(good), "FROM orders GROUP BY customer", "FROM orderz GROUP BY customer", 1))
	missingColumn := writeCat("missing-column.yaml", strings.Replace(string(good), "SELECT time, sym, qty, px FROM fills", "SELECT time, sym, quantity AS qty, px FROM fills", 1))
	brokenDir := dataDir(t)
	// Line 4 holds bytes that are not UTF-8.
	if err := os.WriteFile(filepath.Join(brokenDir, "broken.csv"), []byte("a,b\n1,2\n3,4\n5,\xff\xfe\n6,7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, c := range []struct {
		name string
		data string
		cat  string
		want []string
	}{
		{"broken CSV", brokenDir, filepath.Join(testenv.RepoRoot(), dataCatalog),
			[]string{"broken.csv", "Line: 4", "fix or remove the file"}},
		{"missing table", dataDir(t), missingTable,
			[]string{fmt.Sprintf("missing-table.yaml:%d:", lineOf(t, string(good), "customerTotals:")), "data/customerTotals", `"orderz"`, "does not exist"}},
		{"missing column", dataDir(t), missingColumn,
			[]string{fmt.Sprintf("missing-column.yaml:%d:", lineOf(t, string(good), "getFills:")), "data/getFills", `"quantity"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := testenv.Run(t, ctx, "", "serve", "--listen", "127.0.0.1:0", "--data", c.data,
				"--catalog", c.cat, "--users", users, "--demo=false")
			if code == 0 || strings.Contains(stdout, "listening") {
				t.Fatalf("serve started (exit %d):\n%s\n%s", code, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// A reading of examples/mydata/sensors.csv.
type reading struct {
	time        time.Time
	sensor      string
	temperature float64
	humidity    float64
}

func sensorReadings(t *testing.T) []reading {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.RepoRoot(), "examples", "mydata", "sensors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "time,sensor,temperature,humidity" {
		t.Fatalf("sensors.csv header %v", recs[0])
	}
	out := make([]reading, 0, len(recs)-1)
	for _, r := range recs[1:] {
		tm, err1 := time.Parse(time.RFC3339, r[0])
		temp, err2 := strconv.ParseFloat(r[2], 64)
		hum, err3 := strconv.ParseFloat(r[3], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("sensors.csv row %v", r)
		}
		out = append(out, reading{tm, r[1], temp, hum})
	}
	return out
}

// TestServeExampleData serves examples/mydata with its catalog, as the
// README shows, and checks both methods against sensors.csv read here.
func TestServeExampleData(t *testing.T) {
	t.Parallel()
	users := makeUsers(t, "groups:\n  staff:\n    allow: [sensors]\n", [2]string{"keeper", "staff"})
	g := testenv.StartGateway(t, "--data", filepath.Join("examples", "mydata"),
		"--catalog", filepath.Join("examples", "mydata", "catalog.yaml"), "--users", users, "--demo=false")
	s := sdkSession(t, g, "keeper")
	all := sensorReadings(t)
	sortReadings := func(rs []reading) {
		sort.SliceStable(rs, func(i, j int) bool {
			if !rs[i].time.Equal(rs[j].time) {
				return rs[i].time.Before(rs[j].time)
			}
			return rs[i].sensor < rs[j].sensor
		})
	}

	start, end := all[0].time.Add(24*time.Hour), all[0].time.Add(36*time.Hour)
	for _, c := range []struct {
		params     map[string]any
		sensors    map[string]bool
		start, end time.Time
	}{
		{nil, nil, time.Time{}, time.Time{}},
		{map[string]any{"sensors": symList("attic", "greenhouse"), "start": start, "end": end}, symSet("attic", "greenhouse"), start, end},
	} {
		res := mdCall(t, s, "sensors/getReadings", c.params, "time", "sensor", "temperature", "humidity")
		var want []reading
		for _, r := range all {
			if inWindow(r.time, r.sensor, c.sensors, c.start, c.end) {
				want = append(want, r)
			}
		}
		sortReadings(want)
		if len(res.Rows) != len(want) || len(want) == 0 {
			t.Fatalf("getReadings %v: %d rows, want %d", c.params, len(res.Rows), len(want))
		}
		for k, r := range res.Rows {
			w := want[k]
			if !r[0].(time.Time).Equal(w.time) || r[1] != w.sensor || r[2] != w.temperature || r[3] != w.humidity {
				t.Fatalf("getReadings %v row %d = %v, want %+v", c.params, k, r, w)
			}
		}
	}

	res := mdCall(t, s, "sensors/getDailyStats", nil, "day", "sensor", "minTemperature", "maxTemperature", "avgTemperature", "avgHumidity")
	type day struct {
		min, max, sumT, sumH float64
		n                    int
	}
	days := map[string]*day{}
	for _, r := range all {
		key := r.time.Format("2006-01-02") + " " + r.sensor
		d := days[key]
		if d == nil {
			d = &day{min: math.Inf(1), max: math.Inf(-1)}
			days[key] = d
		}
		d.min, d.max = math.Min(d.min, r.temperature), math.Max(d.max, r.temperature)
		d.sumT += r.temperature
		d.sumH += r.humidity
		d.n++
	}
	keys := make([]string, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(res.Rows) != len(keys) {
		t.Fatalf("getDailyStats: %d rows, want %d (days × sensors)", len(res.Rows), len(keys))
	}
	round1 := func(x float64) float64 { return math.Round(x*10) / 10 }
	for k, key := range keys {
		r, d := res.Rows[k], days[key]
		got := r[0].(time.Time).Format("2006-01-02") + " " + r[1].(string)
		if got != key || r[2] != d.min || r[3] != d.max || !closeTo(r[4].(float64), round2(d.sumT/float64(d.n)), 0.01) ||
			!closeTo(r[5].(float64), round1(d.sumH/float64(d.n)), 0.1) {
			t.Errorf("getDailyStats row %d = %v, want %s min %v max %v avg %v hum %v", k, r, key, d.min, d.max,
				round2(d.sumT/float64(d.n)), round1(d.sumH/float64(d.n)))
		}
	}
}
