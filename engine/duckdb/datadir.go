package duckdb

import (
	"context"
	"database/sql"
	"fmt"
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
func (e *Engine) loadDataDir(ctx context.Context, conn *sql.Conn, dir, abs string, origin map[string]string) error {
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
			q = `CREATE TABLE memory.main."` + f.name + `" AS SELECT * FROM read_csv('` + sqlString(f.abs) + `')`
		}
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %s: fix or remove the file", f.display, e.safeMessage(err))
		}
		e.log.Info("data file loaded", "file", f.display, "table", f.name, "view", f.parquet,
			"elapsed", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
