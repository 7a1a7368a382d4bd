package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestNeutralizeCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")":  "'=HYPERLINK(\"x\")",
		"+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
		"@SUM(A1)":           "'@SUM(A1)",
		"-1+1":               "'-1+1",
		"\tx":                "'\tx",
		"\rx":                "'\rx",
		"-":                  "'-",
		"+":                  "'+",
		"-Inf":               "'-Inf",
		"+0x1p3":             "'+0x1p3",
		"-2.5":               "-2.5",
		"+3e8":               "+3e8",
		"-.5":                "-.5",
		"-7":                 "-7",
		"a=b":                "a=b",
		"":                   "",
		" =x":                " =x", // a leading space is quoted by RFC 4180, and not a formula
	} {
		got, changed := neutralizeCSVCell(in)
		if got != want || changed != (got != in) {
			t.Errorf("neutralizeCSVCell(%q) = %q, %v; want %q", in, got, changed, want)
		}
	}
}

// TestCopyCSV: the streamed path neutralises and quotes formula cells,
// keeps every other cell byte for byte, and with neutralize off reproduces
// the body exactly.
func TestCopyCSV(t *testing.T) {
	body := "sym,n,note\r\n=1+2,-3,\"a,b\"\r\n@x,4,\"say \"\"hi\"\"\"\r\n\"-1+1\",5,\r\n"
	var safe, raw bytes.Buffer
	if err := copyCSV(&safe, strings.NewReader(body), true); err != nil {
		t.Fatal(err)
	}
	want := "sym,n,note\r\n\"'=1+2\",-3,\"a,b\"\r\n\"'@x\",4,\"say \"\"hi\"\"\"\r\n\"'-1+1\",5,\r\n"
	if safe.String() != want {
		t.Errorf("neutralised:\n%q\nwant\n%q", safe.String(), want)
	}
	if err := copyCSV(&raw, strings.NewReader(body), false); err != nil {
		t.Fatal(err)
	}
	if raw.String() != body {
		t.Errorf("raw:\n%q\nwant\n%q", raw.String(), body)
	}
	// An empty string ("") stays apart from a null (an empty field).
	var nulls bytes.Buffer
	if err := copyCSV(&nulls, strings.NewReader("a,b\r\n\"\",\r\n"), true); err != nil || nulls.String() != "a,b\r\n\"\",\r\n" {
		t.Errorf("empty string vs null: %q, %v", nulls.String(), err)
	}
	if err := copyCSV(&raw, strings.NewReader("a\r\n\"open\r\n"), true); err == nil {
		t.Error("a body with an unterminated quote was copied without an error")
	}
}
