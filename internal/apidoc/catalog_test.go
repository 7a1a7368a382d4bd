package apidoc

import (
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

func ptr(f float64) *float64 { return &f }

// handCatalog declares one method per feature the documentation must cover:
// every parameter type, lists, enums, bounds, literal and computed defaults,
// a method without parameters, a streaming and a publishing method, and
// every column type. It does not depend on the demo catalog, so a change
// there cannot hide a regression here.
func handCatalog(t testing.TB) *qconnect.Catalog {
	t.Helper()
	day := time.Date(2019, 7, 26, 0, 0, 0, 0, time.UTC)
	methods := []*qconnect.Method{
		{
			Group: "monPublic", Name: "getMem",
			Description: "Raw memory samples with start <= time < end. Ordered by time then sym.",
			Params: []qconnect.Param{
				{Name: "start", Type: qconnect.Timestamp, DefaultDoc: "one hour before end", Description: "Start of the window (inclusive)."},
				{Name: "end", Type: qconnect.Timestamp, DefaultDoc: "now", Description: "End of the window (exclusive)."},
				{Name: "syms", Type: qconnect.Symbol, List: true, MaxLen: 100, Enum: []string{"server_A", "server_B"}},
				{Name: "bucket", Type: qconnect.Timespan, Default: 5 * time.Minute, Min: ptr(1), Max: ptr(86400)},
			},
			Columns: []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
				{Name: "used", Type: qconnect.Long}},
		},
		{
			Group: "monPublic", Name: "allTypes", Description: "Every parameter type & bound <checked>.",
			Params: []qconnect.Param{
				{Name: "flag", Type: qconnect.Boolean, Required: true},
				{Name: "maybe", Type: qconnect.Boolean},
				{Name: "limit", Type: qconnect.Long, Min: ptr(100), Max: ptr(5000)},
				{Name: "count", Type: qconnect.Long, Required: true, Max: ptr(3)},
				{Name: "ratio", Type: qconnect.Float, Default: 0.25, Min: ptr(0), Max: ptr(1)},
				{Name: "label", Type: qconnect.String, Required: true, MaxLen: 4, Description: "It's short."},
				{Name: "side", Type: qconnect.Symbol, Enum: []string{"buy", "sell"}},
				{Name: "day", Type: qconnect.Date, Required: true},
				{Name: "days", Type: qconnect.Date, List: true, Default: []any{day, day.AddDate(0, 0, 1)}},
				{Name: "window", Type: qconnect.Timespan, Min: ptr(3600)},
				{Name: "ids", Type: qconnect.Long, List: true, Required: true, MaxLen: 3},
				{Name: "opts", Type: qconnect.Dict},
				{Name: "tags", Type: qconnect.String, List: true, Default: []any{"a'b", "c"}},
				{Name: "until", Type: qconnect.Timestamp, Required: true},
			},
			Columns: []qconnect.Column{
				{Name: "b", Type: qconnect.Boolean}, {Name: "j", Type: qconnect.Long}, {Name: "i", Type: qconnect.Int},
				{Name: "h", Type: qconnect.Short}, {Name: "f", Type: qconnect.Float}, {Name: "e", Type: qconnect.Real},
				{Name: "s", Type: qconnect.String}, {Name: "y", Type: qconnect.Symbol}, {Name: "c", Type: qconnect.Char},
				{Name: "p", Type: qconnect.Timestamp}, {Name: "d", Type: qconnect.Date}, {Name: "t", Type: qconnect.Time},
				{Name: "n", Type: qconnect.Timespan}, {Name: "g", Type: qconnect.GUID},
			},
		},
		{
			Group: "marketData", Name: "listSyms", Description: "Every symbol.",
			Columns: []qconnect.Column{{Name: "sym", Type: qconnect.Symbol}},
		},
		{
			Group: "marketData", Name: "trades", Description: "Live trades.", Streaming: true,
			Params: []qconnect.Param{{Name: "syms", Type: qconnect.Symbol, List: true}},
			Columns: []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
				{Name: "price", Type: qconnect.Float}},
			Stream: &qconnect.StreamSpec{Table: "trade", Key: "sym", Filters: map[string]string{"syms": "sym"}},
		},
		{
			// A publishing method takes rows shaped by its columns and no
			// parameters (the catalog loader refuses params on one); its
			// columns cover every column type, for the example rows.
			Group: "marketData", Name: "publishTrade", Description: "Append trades. Needs a write grant.", Publish: true,
			Columns: []qconnect.Column{
				{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
				{Name: "price", Type: qconnect.Float}, {Name: "size", Type: qconnect.Long},
				{Name: "lots", Type: qconnect.Int}, {Name: "venue", Type: qconnect.Short},
				{Name: "fee", Type: qconnect.Real}, {Name: "note", Type: qconnect.String},
				{Name: "side", Type: qconnect.Char}, {Name: "day", Type: qconnect.Date},
				{Name: "at", Type: qconnect.Time}, {Name: "age", Type: qconnect.Timespan},
				{Name: "ok", Type: qconnect.Boolean}, {Name: "ref", Type: qconnect.GUID},
			},
			Stream: &qconnect.StreamSpec{Table: "trade"},
		},
	}
	cat, err := qconnect.NewCatalog(methods)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}
