package duckdb

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// tableNameRE is the shape of a table name made from a file name; it is the
// shape of qconnect group and method names.
var tableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// tableName derives a table name from a file name: the name without its
// last extension, characters other than ASCII letters, digits and _ replaced by
// _, a t_ prefix when it starts with a digit, at most 64 characters.
func tableName(file string) (string, bool) {
	b := []byte(strings.TrimSuffix(file, filepath.Ext(file)))
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	name := string(b)
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		name = "t_" + name
	}
	if len(name) > 64 {
		name = name[:64]
	}
	if strings.Trim(name, "_") == "" {
		return "", false
	}
	return name, tableNameRE.MatchString(name)
}

// dataFile is one --data file to load.
type dataFile struct {
	name    string // table name
	display string // path as the operator wrote it, for messages
	abs     string
	parquet bool
}

// loadDataDir makes a table of every CSV file and a view of every Parquet
// file of dir (see the package doc for why).
func (e *Engine) loadDataDir(ctx context.Context, conn *conn, dir, abs string, origin map[string]string) error {
	entries, err := os.ReadDir(abs)
	if err != nil {
		return fmt.Errorf("%s: %w: give a directory of .csv and .parquet files to --data", dir, err)
	}
	var files []dataFile
	for _, ent := range entries {
		ext := strings.ToLower(filepath.Ext(ent.Name()))
		if ext != ".csv" && ext != ".parquet" || strings.HasPrefix(ent.Name(), ".") {
			continue
		}
		display := filepath.Join(dir, ent.Name())
		if !ent.Type().IsRegular() {
			info, err := os.Stat(filepath.Join(abs, ent.Name())) // follow symlinks
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
		}
		name, ok := tableName(ent.Name())
		if !ok {
			return fmt.Errorf("%s: cannot make a table name of the file name: rename it to start with a letter", display)
		}
		files = append(files, dataFile{name: name, display: display, abs: filepath.Join(abs, ent.Name()), parquet: ext == ".parquet"})
	}
	if len(files) > MaxDataFiles {
		return fmt.Errorf("%s: %d data files, more than %d: split the directory", dir, len(files), MaxDataFiles)
	}
	if len(files) == 0 {
		e.log.Warn("no .csv or .parquet files in the data directory", "dir", dir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].display < files[j].display })
	for _, f := range files {
		key := strings.ToLower(f.name)
		if o, ok := origin[key]; ok {
			return fmt.Errorf("%s: table %s clashes with %s: rename the file", f.display, f.name, o)
		}
		origin[key] = f.display
	}
	for _, f := range files {
		start := time.Now()
		var q string
		if f.parquet {
			q = `CREATE VIEW memory.main."` + f.name + `" AS SELECT * FROM read_parquet('` + sqlString(f.abs) + `')`
		} else {
			if err := checkCSVQuotes(f.display, f.abs); err != nil {
				return err
			}
			q = `CREATE TABLE memory.main."` + f.name + `" AS SELECT * FROM read_csv('` + sqlString(f.abs) + `')`
		}
		if err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %s: fix or remove the file", f.display, e.safeMessage(err))
		}
		e.log.Info("data file loaded", "file", f.display, "table", f.name, "view", f.parquet,
			"elapsed", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// checkCSVQuotes reads a CSV file once and reports a quoted field that is
// never closed, or closed by a quote followed by something other than a
// delimiter or a line end, naming the line the field opened on. DuckDB's
// sniffer would otherwise read such a file without quoting (the quote
// becomes data, or the columns come out wrong) and the problem would
// surface later as a catalog error about a column. A quote opens a quoted
// field only at the start of a field; one inside an unquoted field is data.
// A doubled quote ("") inside a quoted field is an escaped quote (RFC
// 4180). Any of , ; TAB | counts as a delimiter (the sniffer picks one).
func checkCSVQuotes(display, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %v: fix or remove the file", display, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	line, openLine := 1, 0
	fieldStart, inQuote, afterQuote := true, false, false
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %v: fix or remove the file", display, err)
		}
		if inQuote {
			switch c {
			case '"':
				inQuote, afterQuote = false, true
			case '\n':
				line++
			}
			continue
		}
		if afterQuote {
			afterQuote = false
			switch c {
			case '"':
				inQuote = true // "" inside a quoted field
				continue
			case ',', ';', '\t', '|', '\r', '\n':
			default:
				return fmt.Errorf(`%s:%d: the quoted field opened on this line has a quote followed by %q on line %d: write a quote inside a quoted field as "" (RFC 4180), or close the quote`, display, openLine, c, line)
			}
		}
		switch c {
		case '\n':
			line++
			fieldStart = true
		case ',', ';', '\t', '|':
			fieldStart = true
		case '"':
			if fieldStart {
				inQuote, openLine = true, line
			}
			fieldStart = false
		default:
			fieldStart = c == '\r' && fieldStart
		}
	}
	if inQuote {
		return fmt.Errorf(`%s:%d: a quoted field opened on this line is never closed (unterminated "): close the quote, and write a quote inside a quoted field as "" (RFC 4180)`, display, openLine)
	}
	return nil
}
