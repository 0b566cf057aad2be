package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// jsonStream walks a JSON document with encoding/json's token decoder so
// that big arrays (SARIF results, SPDX packages) are decoded one element at
// a time instead of the whole document at once, which is what the SARIF
// and SPDX libraries (owenrumney/go-sarif, spdx/tools-golang) do.
type jsonStream struct {
	name string
	what string // "SARIF", "SPDX JSON": for messages
	hint string
	pos  *posReader
	dec  *json.Decoder
}

func newJSONStream(r io.Reader, name, what, hint string) *jsonStream {
	pos := newPosReader(r)
	return &jsonStream{name: name, what: what, hint: hint, pos: pos, dec: json.NewDecoder(pos)}
}

// errAt is an *Error at byte offset off.
func (s *jsonStream) errAt(off int64, msg, hint string) *Error {
	line, col := s.pos.position(off)
	if hint == "" {
		hint = s.hint
	}
	return &Error{File: s.name, Line: line, Col: col, Msg: msg, Hint: hint}
}

// wrap turns a decoder error into an *Error at its offset.
func (s *jsonStream) wrap(err error) error {
	var le *Error
	if errors.As(err, &le) {
		return le
	}
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se):
		e := s.errAt(se.Offset, "malformed "+s.what+": "+se.Error(), "the file is not valid JSON; regenerate it with the tool that wrote it")
		e.Err = err
		return e
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "a value"
		}
		e := s.errAt(te.Offset, fmt.Sprintf("malformed %s: %s is a JSON %s, not %s", s.what, field, te.Value, te.Type), "")
		e.Err = err
		return e
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e := s.errAt(s.pos.read, "malformed "+s.what+": unexpected end of file", "the file is cut short; regenerate it")
		e.Err = err
		return e
	}
	e := s.errAt(s.dec.InputOffset(), "malformed "+s.what+": "+err.Error(), "")
	e.Err = err
	return e
}

// token reads the next token.
func (s *jsonStream) token() (json.Token, error) {
	t, err := s.dec.Token()
	if err != nil {
		return nil, s.wrap(err)
	}
	return t, nil
}

// expect reads a delimiter and fails unless it is d.
func (s *jsonStream) expect(d json.Delim, what string) error {
	off := s.dec.InputOffset()
	t, err := s.token()
	if err != nil {
		return err
	}
	if got, ok := t.(json.Delim); !ok || got != d {
		return s.errAt(off, fmt.Sprintf("malformed %s: %s should be a JSON %s", s.what, what, delimName(d)), "")
	}
	return nil
}

func delimName(d json.Delim) string {
	if d == '[' {
		return "array"
	}
	return "object"
}

// object calls field for each key of the object that starts at the next
// token; field must consume the key's value.
func (s *jsonStream) object(what string, field func(key string) error) error {
	if err := s.expect('{', what); err != nil {
		return err
	}
	for s.dec.More() {
		t, err := s.token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if err := field(key); err != nil {
			return err
		}
	}
	_, err := s.token() // '}'
	return err
}

// array calls elem for each element of the array that starts at the next
// token; elem must consume the element.
func (s *jsonStream) array(what string, elem func() error) error {
	if err := s.expect('[', what); err != nil {
		return err
	}
	for s.dec.More() {
		if err := elem(); err != nil {
			return err
		}
	}
	_, err := s.token() // ']'
	return err
}

// decode decodes the next value into v.
func (s *jsonStream) decode(v any) error {
	start := skipSpaceOffset(s, s.dec.InputOffset())
	if err := s.dec.Decode(v); err != nil {
		return s.wrap(s.replace(start, v, err))
	}
	return nil
}

// replace re-decodes a value that failed from its first byte with a fresh
// decoder, because a streaming decoder's error offsets are not offsets in
// the input; the fresh decoder's are offsets from start (the byte after
// the fault), which the tail still holds.
func (s *jsonStream) replace(start int64, v any, err error) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	if !errors.As(err, &se) && !errors.As(err, &te) {
		return err
	}
	held := s.pos.read - int64(len(s.pos.tail))
	if start < held || start > s.pos.read {
		return err
	}
	fresh := json.NewDecoder(bytes.NewReader(s.pos.tail[start-held:]))
	again := fresh.Decode(reflect.New(reflect.TypeOf(v).Elem()).Interface())
	switch {
	case errors.As(again, &se):
		se.Offset += start - 1
		return se
	case errors.As(again, &te):
		te.Offset += start - 1
		return te
	}
	return err
}

// skip consumes the next value without keeping it.
func (s *jsonStream) skip() error {
	depth := 0
	for {
		t, err := s.token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// end checks that nothing but white space follows the document.
func (s *jsonStream) end() error {
	off := s.dec.InputOffset()
	if _, err := s.dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return s.wrap(err)
		}
		return s.errAt(off, "malformed "+s.what+": data after the end of the document", "")
	}
	return nil
}
