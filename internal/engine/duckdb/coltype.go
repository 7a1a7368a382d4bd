package duckdb

import (
	"strconv"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// source is the family of a DuckDB result type, as far as conversion to a
// qconnect value is concerned.
type source int

const (
	srcUnsupported source = iota
	srcNull               // SQLNULL: every value is nil
	srcBool
	srcInt     // TINYINT … BIGINT, UTINYINT … UBIGINT
	srcHuge    // HUGEINT, UHUGEINT
	srcFloat   // FLOAT, DOUBLE
	srcDecimal // DECIMAL(w,s)
	srcString  // VARCHAR, ENUM
	srcBlob
	srcTimestamp // TIMESTAMP, _S, _MS, _NS, TIMESTAMPTZ
	srcDate
	srcTime // TIME, TIME_NS
	srcInterval
	srcUUID
)

// colType describes one result column as DuckDB reports it.
type colType struct {
	name   string
	dbType string        // the type as DuckDB names it: BIGINT, DECIMAL(10,2), ENUM, JSON, BIGINT[]
	id     bindings.Type // DuckDB's type id
	src    source
	// DECIMAL: the storage type (SMALLINT, INTEGER, BIGINT or HUGEINT) and
	// the scale. ENUM: the storage type (UTINYINT, USMALLINT or UINTEGER).
	internal bindings.Type
	scale    uint8
	// dict is an ENUM's dictionary: a symbol column's Vector.Dict.
	dict []string
}

// describeColumn reads what Query needs of a result column's type. The
// logical type is only read, not destroyed.
func describeColumn(name string, lt bindings.LogicalType) colType {
	c := colType{name: name, id: bindings.GetTypeId(lt), dbType: typeName(lt)}
	c.src = sourceOf(c.id)
	if c.dbType == "JSON" {
		c.src = srcUnsupported // a JSON document is no qconnect value; ->> or ::VARCHAR make one
	}
	switch c.id {
	case bindings.TypeDecimal:
		c.internal = bindings.DecimalInternalType(lt)
		c.scale = bindings.DecimalScale(lt)
	case bindings.TypeEnum:
		c.internal, c.dict = enumDict(lt)
	}
	return c
}

// enumDict returns an ENUM type's storage type (UTINYINT, USMALLINT or
// UINTEGER: the width of its indexes) and its values in index order.
func enumDict(lt bindings.LogicalType) (bindings.Type, []string) {
	dict := make([]string, bindings.EnumDictionarySize(lt))
	for i := range dict {
		dict[i] = bindings.EnumDictionaryValue(lt, bindings.IdxT(i))
	}
	return bindings.EnumInternalType(lt), dict
}

// baseTypeName is the name DuckDB gives a type (that of duckdb-go's
// ColumnTypeDatabaseTypeName, which error messages and the docs use).
func baseTypeName(id bindings.Type) (string, bool) {
	switch id {
	case bindings.TypeBoolean:
		return "BOOLEAN", true
	case bindings.TypeTinyInt:
		return "TINYINT", true
	case bindings.TypeSmallInt:
		return "SMALLINT", true
	case bindings.TypeInteger:
		return "INTEGER", true
	case bindings.TypeBigInt:
		return "BIGINT", true
	case bindings.TypeUTinyInt:
		return "UTINYINT", true
	case bindings.TypeUSmallInt:
		return "USMALLINT", true
	case bindings.TypeUInteger:
		return "UINTEGER", true
	case bindings.TypeUBigInt:
		return "UBIGINT", true
	case bindings.TypeFloat:
		return "FLOAT", true
	case bindings.TypeDouble:
		return "DOUBLE", true
	case bindings.TypeTimestamp:
		return "TIMESTAMP", true
	case bindings.TypeDate:
		return "DATE", true
	case bindings.TypeTime:
		return "TIME", true
	case bindings.TypeInterval:
		return "INTERVAL", true
	case bindings.TypeHugeInt:
		return "HUGEINT", true
	case bindings.TypeUHugeInt:
		return "UHUGEINT", true
	case bindings.TypeVarchar:
		return "VARCHAR", true
	case bindings.TypeBlob:
		return "BLOB", true
	case bindings.TypeDecimal:
		return "DECIMAL", true
	case bindings.TypeTimestampS:
		return "TIMESTAMP_S", true
	case bindings.TypeTimestampMS:
		return "TIMESTAMP_MS", true
	case bindings.TypeTimestampNS:
		return "TIMESTAMP_NS", true
	case bindings.TypeEnum:
		return "ENUM", true
	case bindings.TypeList:
		return "LIST", true
	case bindings.TypeStruct:
		return "STRUCT", true
	case bindings.TypeMap:
		return "MAP", true
	case bindings.TypeArray:
		return "ARRAY", true
	case bindings.TypeUUID:
		return "UUID", true
	case bindings.TypeUnion:
		return "UNION", true
	case bindings.TypeBit:
		return "BIT", true
	case bindings.TypeTimeTZ:
		return "TIMETZ", true
	case bindings.TypeTimestampTZ:
		return "TIMESTAMPTZ", true
	case bindings.TypeBigNum:
		return "BIGNUM", true
	case bindings.TypeSQLNull:
		return "SQLNULL", true
	case bindings.TypeTimeNS:
		return "TIME_NS", true
	case bindings.TypeGeometry:
		return "GEOMETRY", true
	case bindings.TypeVariant:
		return "VARIANT", true
	}
	return "", false
}

// typeName names a logical type for messages: DECIMAL(10,2), BIGINT[],
// VARCHAR[3], JSON.
func typeName(lt bindings.LogicalType) string {
	if bindings.LogicalTypeGetAlias(lt) == "JSON" {
		return "JSON"
	}
	id := bindings.GetTypeId(lt)
	switch id {
	case bindings.TypeDecimal:
		return "DECIMAL(" + strconv.Itoa(int(bindings.DecimalWidth(lt))) + "," + strconv.Itoa(int(bindings.DecimalScale(lt))) + ")"
	case bindings.TypeList:
		child := bindings.ListTypeChildType(lt)
		defer bindings.DestroyLogicalType(&child)
		return typeName(child) + "[]"
	case bindings.TypeArray:
		child := bindings.ArrayTypeChildType(lt)
		defer bindings.DestroyLogicalType(&child)
		return typeName(child) + "[" + strconv.FormatUint(uint64(bindings.ArrayTypeArraySize(lt)), 10) + "]"
	}
	if n, ok := baseTypeName(id); ok {
		return n
	}
	return "type " + strconv.Itoa(int(id))
}

// sourceOf classifies a DuckDB type id.
func sourceOf(id bindings.Type) source {
	switch id {
	case bindings.TypeSQLNull:
		return srcNull
	case bindings.TypeBoolean:
		return srcBool
	case bindings.TypeTinyInt, bindings.TypeSmallInt, bindings.TypeInteger, bindings.TypeBigInt,
		bindings.TypeUTinyInt, bindings.TypeUSmallInt, bindings.TypeUInteger, bindings.TypeUBigInt:
		return srcInt
	case bindings.TypeHugeInt, bindings.TypeUHugeInt:
		return srcHuge
	case bindings.TypeFloat, bindings.TypeDouble:
		return srcFloat
	case bindings.TypeDecimal:
		return srcDecimal
	case bindings.TypeVarchar, bindings.TypeEnum:
		return srcString
	case bindings.TypeBlob:
		return srcBlob
	case bindings.TypeTimestamp, bindings.TypeTimestampS, bindings.TypeTimestampMS, bindings.TypeTimestampNS, bindings.TypeTimestampTZ:
		return srcTimestamp
	case bindings.TypeDate:
		return srcDate
	case bindings.TypeTime, bindings.TypeTimeNS:
		return srcTime
	case bindings.TypeInterval:
		return srcInterval
	case bindings.TypeUUID:
		return srcUUID
	}
	return srcUnsupported
}

// naturalType is the qconnect column type a DuckDB type is reported as when
// a method declares no columns.
func naturalType(c colType) (qconnect.Type, bool) {
	switch c.id {
	case bindings.TypeBigInt, bindings.TypeUInteger, bindings.TypeUBigInt, bindings.TypeHugeInt, bindings.TypeUHugeInt:
		return qconnect.Long, true
	case bindings.TypeInteger, bindings.TypeUSmallInt:
		return qconnect.Int, true
	case bindings.TypeSmallInt, bindings.TypeTinyInt, bindings.TypeUTinyInt:
		return qconnect.Short, true
	case bindings.TypeFloat:
		return qconnect.Real, true
	}
	switch c.src {
	case srcBool:
		return qconnect.Boolean, true
	case srcFloat, srcDecimal:
		return qconnect.Float, true
	case srcString, srcBlob, srcNull:
		return qconnect.String, true
	case srcTimestamp:
		return qconnect.Timestamp, true
	case srcDate:
		return qconnect.Date, true
	case srcTime:
		return qconnect.Time, true
	case srcInterval:
		return qconnect.Timespan, true
	case srcUUID:
		return qconnect.GUID, true
	}
	return "", false
}

// compatible reports whether a result of DuckDB type family s can be
// delivered as a column declared t. Numbers widen (an integer column may be
// declared float), never narrow; a TIMESTAMP may be declared date (it is
// cut to its UTC day) and a DATE timestamp (midnight UTC).
func compatible(s source, t qconnect.Type) bool {
	if s == srcNull {
		return qconnect.ValidColumnType(t)
	}
	switch t {
	case qconnect.Boolean:
		return s == srcBool
	case qconnect.Long, qconnect.Int, qconnect.Short:
		return s == srcInt || s == srcHuge
	case qconnect.Float, qconnect.Real:
		return s == srcFloat || s == srcDecimal || s == srcInt || s == srcHuge
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		return s == srcString || s == srcBlob
	case qconnect.Timestamp, qconnect.Date:
		return s == srcTimestamp || s == srcDate
	case qconnect.Time:
		return s == srcTime
	case qconnect.Timespan:
		return s == srcInterval
	case qconnect.GUID:
		return s == srcUUID
	}
	return false
}
