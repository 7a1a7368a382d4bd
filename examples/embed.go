// Package examples holds the demo catalog, embedded in the qconnect binary,
// and an example data directory (mydata/) for serving your own CSV and
// Parquet files.
package examples

import _ "embed"

//go:embed catalog.yaml
var demoCatalog string

//go:embed mydata/catalog.yaml
var myDataCatalog string

// DemoCatalogName is the file name positions in DemoCatalog refer to.
const DemoCatalogName = "examples/catalog.yaml"

// DemoCatalog returns the demo catalog (monPublic and marketData over the
// engine's demo data), a fresh copy on every call.
func DemoCatalog() []byte { return []byte(demoCatalog) }

// MyDataCatalog returns the catalog of the example data directory
// examples/mydata (methods over sensors.csv), a fresh copy on every call.
func MyDataCatalog() []byte { return []byte(myDataCatalog) }
