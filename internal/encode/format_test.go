package encode

import (
	"reflect"
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	cases := []struct {
		accept string
		want   Format
	}{
		{"", JSON},
		{"*/*", JSON},
		{"application/*", JSON},
		{"application/json", JSON},
		{"application/x-ndjson", NDJSON},
		{"text/csv", CSV},
		{"application/vnd.apache.arrow.stream", Arrow},
		{"TEXT/CSV", CSV},
		{"text/csv; charset=utf-8", CSV},
		{"text/*", CSV},
		{"text/html", JSON},
		{"image/png, text/html;q=0.9", JSON},
		{"nonsense", JSON},
		{"text/csv;q=0", JSON},
		{"application/json;q=0", JSON},        // nothing acceptable is supported: JSON anyway
		{"application/json;q=0, */*", NDJSON}, // */* allows the rest; json refused
		{"text/csv;q=0.5, application/x-ndjson;q=0.8", NDJSON},
		{"text/csv;q=0.9, application/x-ndjson;q=0.8", CSV},
		{"text/csv, application/x-ndjson", CSV}, // equal q: first listed
		{"application/x-ndjson, text/csv", NDJSON},
		{"application/vnd.apache.arrow.stream;q=1.0, application/json;q=1", Arrow},
		{"*/*;q=0.1, application/vnd.apache.arrow.stream", Arrow},
		{"text/*;q=0.5, text/csv;q=0", JSON}, // the exact range wins over text/*
		{"text/csv;q=0, text/*;q=0.5", JSON},
		{"text/csv;q=0.2, */*;q=0.5", JSON}, // json gets 0.5 from */*, csv 0.2
		{"application/*;q=0.3, text/csv;q=0.2", JSON},
		{"text/csv;q=2", JSON}, // invalid q: range ignored
		{"text/csv;q=abc", JSON},
		{"text/csv;q=0.1234", JSON},
		{"text/csv;q=0.001", CSV},
		{` text/csv ; q=0.5 ; foo="a,b" , application/x-ndjson;q=0.4`, CSV},
		{`application/json;x="q=0, text/csv"`, JSON}, // a comma inside quotes does not split
		{"*/csv", JSON}, // malformed range
		{"application/x-ndjson;q=0.5,,  ,text/csv;q=0.4", NDJSON},
	}
	for _, c := range cases {
		if got := Negotiate(c.accept); got != c.want {
			t.Errorf("Negotiate(%q) = %s, want %s", c.accept, got, c.want)
		}
	}
	// Only the first maxRanges ranges count.
	long := strings.Repeat("image/png,", maxRanges) + "text/csv"
	if got := Negotiate(long); got != JSON {
		t.Errorf("range %d was considered: %s", maxRanges+1, got)
	}
	if got := Negotiate(strings.Repeat("image/png,", maxRanges-1) + "text/csv"); got != CSV {
		t.Errorf("range %d was not considered: %s", maxRanges, got)
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range everyFormat {
		got, err := ParseFormat(" " + strings.ToUpper(string(f)) + " ")
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "json, ndjson, csv or arrow") {
		t.Errorf("ParseFormat(xml): %v", err)
	}
}

func TestContentTypeAndTrailers(t *testing.T) {
	want := map[Format]string{JSON: "application/json", NDJSON: "application/x-ndjson", CSV: "text/csv",
		Arrow: "application/vnd.apache.arrow.stream", "xml": ""}
	for f, ct := range want {
		if f.ContentType() != ct {
			t.Errorf("%s.ContentType() = %q, want %q", f, f.ContentType(), ct)
		}
		if f != "xml" && Negotiate(ct) != f {
			t.Errorf("Negotiate(%q) != %s", ct, f)
		}
		trailers := f.TrailerKeys()
		if f == CSV && !reflect.DeepEqual(trailers, []string{"Connect-Status"}) || f != CSV && trailers != nil {
			t.Errorf("%s.TrailerKeys() = %v", f, trailers)
		}
	}
}
