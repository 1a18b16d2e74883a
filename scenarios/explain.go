package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// locate decodes raw into a value of type t again, one field at a time, and
// returns the path of the first value that does not decode (as the file
// names it: "steps"[0].for), its type and its error; no error if none fails. It
// gives errors that encoding/json reports without their field (those of a
// type's own UnmarshalJSON) a place, and type errors the file's names
// rather than Go's.
func locate(raw []byte, t reflect.Type, path string) (string, reflect.Type, error) {
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return path, t, json.Unmarshal(raw, reflect.New(t).Interface())
	}
	switch t.Kind() {
	case reflect.Struct:
		return locateFields(raw, t, path)
	case reflect.Slice:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return path, t, err
		}
		for i, item := range items {
			if p, ft, err := locate(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return p, ft, err
			}
		}
		return "", nil, nil
	}
	return path, t, json.Unmarshal(raw, reflect.New(t).Interface())
}

// locateFields is locate for an object, field by field in the file's order.
func locateFields(raw []byte, t reflect.Type, path string) (string, reflect.Type, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return path, t, json.Unmarshal(raw, reflect.New(t).Interface()) // not an object: json's type error
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return path, t, err
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return path, t, err
		}
		ft, ok := fieldType(t, key)
		if !ok {
			continue // an unknown field has its own error
		}
		sub := fmt.Sprintf("%q", key)
		if path != "" {
			sub = path + "." + key
		}
		if p, ft, err := locate(value, ft, sub); err != nil {
			return p, ft, err
		}
	}
	return "", nil, nil
}

// fieldType is the type of the field of struct t that the JSON key names,
// embedded structs' fields included; names match as encoding/json matches
// them, ignoring case.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for f := range t.Fields() {
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if ft, ok := fieldType(f.Type, key); ok {
				return ft, true
			}
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "-" && f.IsExported() && strings.EqualFold(name, key) {
			return f.Type, true
		}
	}
	return nil, false
}

// describeValue names what a JSON value is, from a type error's Value
// ("string", "number 3.5").
func describeValue(v string) string {
	switch {
	case v == "array", v == "object":
		return "an " + v
	case v == "bool":
		return "true or false"
	case v == "string", v == "number":
		return "a " + v
	case strings.HasPrefix(v, "number "):
		return "the " + v
	}
	return v
}

// describeType names the JSON a Go type is written as: "a whole number",
// "an array of strings".
func describeType(t reflect.Type) string {
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		return "an array of " + jsonNoun(t.Elem()) + "s"
	}
	noun := jsonNoun(t)
	if strings.HasPrefix(noun, "object") {
		return "an " + noun
	}
	return "a " + noun
}

// jsonNoun is what a value of Go type t is in JSON.
func jsonNoun(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole number (not negative)"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}
