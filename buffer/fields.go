package buffer

// Kind says how a Value is stored.
type Kind uint8

const (
	// String is a string; Bytes holds it unescaped (any bytes, not
	// necessarily valid UTF-8: encoders replace invalid sequences).
	String Kind = iota
	// Raw is a JSON value already encoded as compact JSON text (a number, true,
	// false, null, or a whole object or array); encoders copy Bytes verbatim.
	// Metadata shared by many records is stored this way, encoded once.
	Raw
	// Map is an object; Kids are its members in insertion order.
	Map
	// Array is a list; Kids are its items, with empty keys.
	Array
)

// Value is a field value. Which members are used depends on Kind.
type Value struct {
	Kind  Kind
	Bytes []byte
	Kids  Fields
}

// Field is one key/value member of a record or of a Map value.
type Field struct {
	Key   string
	Value Value
}

// Fields is an ordered list of members. Keys are unique in well-formed records;
// Set keeps them so. Lookups are linear: records have a handful of top-level
// fields, and a slice beats a map for that size.
type Fields []Field

// Str returns a String value holding s.
func Str(s []byte) Value { return Value{Kind: String, Bytes: s} }

// RawJSON returns a Raw value holding already-encoded compact JSON.
func RawJSON(j []byte) Value { return Value{Kind: Raw, Bytes: j} }

// Index returns the position of key in f, or -1.
func (f Fields) Index(key string) int {
	for i := range f {
		if f[i].Key == key {
			return i
		}
	}
	return -1
}

// Get returns the value of key and whether it is present.
func (f Fields) Get(key string) (Value, bool) {
	if i := f.Index(key); i >= 0 {
		return f[i].Value, true
	}
	return Value{}, false
}

// Set replaces the value of key in place, or appends key at the end (insertion
// order, as a Ruby Hash keeps it).
func (f Fields) Set(key string, v Value) Fields {
	if i := f.Index(key); i >= 0 {
		f[i].Value = v
		return f
	}
	return append(f, Field{Key: key, Value: v})
}

// Delete removes key, keeping the order of the others.
func (f Fields) Delete(key string) Fields {
	if i := f.Index(key); i >= 0 {
		return append(f[:i], f[i+1:]...)
	}
	return f
}

// Path follows nested Map members, as record["a"]["b"] does in Ruby. Raw
// objects are decoded on the way (slow path: used by filters, not per line on
// the default pipeline).
func (f Fields) Path(keys ...string) (Value, bool) {
	cur := Value{Kind: Map, Kids: f}
	for _, k := range keys {
		if cur.Kind == Raw {
			d, err := ParseJSON(cur.Bytes)
			if err != nil {
				return Value{}, false
			}
			cur = d
		}
		if cur.Kind != Map {
			return Value{}, false
		}
		v, ok := cur.Kids.Get(k)
		if !ok {
			return Value{}, false
		}
		cur = v
	}
	return cur, true
}
