package config

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrUnsupported marks a directive, plugin type or Ruby expression that
// logship does not implement. Test with errors.Is.
var ErrUnsupported = errors.New("unsupported")

// Pos is a position in a configuration file. Line and Col are 1-based; Col
// counts bytes. The zero Pos means "no position".
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats p as file:line:col.
func (p Pos) String() string {
	if p.Line == 0 {
		if p.File == "" {
			return "-"
		}
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// Error is a configuration error or warning at a position in a file.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	// Err is the underlying cause, if any (ErrUnsupported, a file system
	// error); Error() includes it.
	Err error
	// IncludedFrom lists the @include directives through which File was
	// read, innermost first.
	IncludedFrom []Pos
}

// Error formats e as "file:line:col: msg[: cause]".
func (e *Error) Error() string {
	s := e.Pos().String() + ": " + e.Msg
	if e.Err != nil && !errors.Is(e.Err, ErrUnsupported) {
		s += ": " + e.Err.Error()
	}
	for i, p := range e.IncludedFrom {
		if i == 0 {
			s += " (included from " + p.String()
		} else {
			s += ", " + p.String()
		}
		if i == len(e.IncludedFrom)-1 {
			s += ")"
		}
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Pos returns the position of e.
func (e *Error) Pos() Pos { return Pos{File: e.File, Line: e.Line, Col: e.Col} }

// errorAt builds an *Error at p.
func errorAt(p Pos, cause error, format string, args ...any) *Error {
	return &Error{File: p.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...), Err: cause}
}
