package kdb

import (
	"errors"
	"strings"
	"testing"

	"github.com/qconnect/qconnect"
)

func tradesMethod(cols []qconnect.Column) *qconnect.Method {
	return &qconnect.Method{Group: "marketData", Name: "getTrades", Backend: "q", Query: ".marketData.getTrades",
		Params:  []qconnect.Param{{Name: "syms", Type: qconnect.Symbol, List: true}, {Name: "limit", Type: qconnect.Long}},
		Columns: cols, Pos: qconnect.Position{File: "catalog.yaml", Line: 7}}
}

// TestCheckMethods: the zero-row call (limit 0) at start-up finds a
// declared column the function does not return, naming it; a q process
// that is down is not a mismatch.
func TestCheckMethods(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	s := tg.needFake(t)
	e := open(t, tg.cfg)
	good := []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
		{Name: "price", Type: qconnect.Float}, {Name: "size", Type: qconnect.Long}, {Name: "side", Type: qconnect.Symbol}}
	if err := e.CheckMethods(ctx10(t), []*qconnect.Method{tradesMethod(good), getMem()}); err != nil {
		t.Fatal(err)
	}
	if s.Calls(".monPublic.getMem") != 0 || s.Calls(".marketData.getTrades") != 1 {
		t.Fatal("only methods with a limit parameter are probed")
	}
	bad := append([]qconnect.Column{}, good...)
	bad[2] = qconnect.Column{Name: "px", Type: qconnect.Float}
	err := e.CheckMethods(ctx10(t), []*qconnect.Method{tradesMethod(bad)})
	if err == nil || !strings.Contains(err.Error(), "catalog.yaml:7") || !strings.Contains(err.Error(), "column px") {
		t.Fatalf("err = %v", err)
	}
	s.Close()
	if err := e.CheckMethods(ctx10(t), []*qconnect.Method{tradesMethod(bad)}); !errors.Is(err, ErrNotChecked) {
		t.Fatalf("q down: %v", err)
	}
}
