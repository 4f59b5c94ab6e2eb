package config

import (
	"errors"
	"fmt"
)

// Diagnostics collects the errors and warnings of reading a configuration:
// the parser's warnings, then the mapping layer's (unknown plugin types,
// unused parameters, bad values). It is not safe for concurrent use.
type Diagnostics struct {
	// IgnoreUnsupported downgrades Unsupported to a warning.
	IgnoreUnsupported bool

	errs  []*Error
	warns []*Error
}

// Errorf records an error at pos.
func (d *Diagnostics) Errorf(pos Pos, format string, args ...any) {
	d.errs = append(d.errs, errorAt(pos, nil, format, args...))
}

// Warnf records a warning at pos.
func (d *Diagnostics) Warnf(pos Pos, format string, args ...any) {
	d.warns = append(d.warns, errorAt(pos, nil, format, args...))
}

// Add records err: an *Error (or errors wrapping them, such as
// errors.Join) keeps its position; any other error is recorded at pos.
func (d *Diagnostics) Add(pos Pos, err error) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			d.Add(pos, e)
		}
		return
	}
	var e *Error
	if errors.As(err, &e) {
		d.errs = append(d.errs, e)
		return
	}
	d.errs = append(d.errs, errorAt(pos, err, "%s", "invalid configuration"))
}

// Unsupported records that the thing described at pos is not implemented by
// logship: an error wrapping ErrUnsupported, or a warning ("… is not
// supported; skipped") when IgnoreUnsupported is set. It reports whether the
// caller must skip the thing (always true: either the run fails or the
// directive is ignored).
func (d *Diagnostics) Unsupported(pos Pos, format string, args ...any) bool {
	msg := fmt.Sprintf(format, args...)
	if d.IgnoreUnsupported {
		d.warns = append(d.warns, errorAt(pos, ErrUnsupported, "%s is not supported by logship; skipped", msg))
		return true
	}
	d.errs = append(d.errs, errorAt(pos, ErrUnsupported, "%s is not supported by logship (use --ignore-unsupported to skip it)", msg))
	return true
}

// UnsupportedType reports an unknown plugin @type of section s, naming the
// directive, e.g. `<source> @type systemd`.
func (d *Diagnostics) UnsupportedType(s *Section) bool {
	t, p := s.Type()
	pos := s.Pos
	if p != nil {
		pos = p.ValuePos
	}
	return d.Unsupported(pos, "%s @type %s", s.Header(), t)
}

// Err returns the recorded errors joined (each an *Error), or nil.
func (d *Diagnostics) Err() error {
	if len(d.errs) == 0 {
		return nil
	}
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Errors returns the recorded errors in order.
func (d *Diagnostics) Errors() []*Error { return d.errs }

// Warnings returns the recorded warnings in order.
func (d *Diagnostics) Warnings() []*Error { return d.warns }

// ReportUnused records a warning for every parameter and nested section the
// mapping layer did not consume (Fluentd warns about unknown parameters the
// same way), and for top-level directives it never looked at. Call it after
// the mapping.
func (c *Config) ReportUnused() {
	for _, s := range c.Root.Nested {
		if !s.used {
			c.Diag.Warnf(s.Pos, "%s is not used", s.Header())
			continue
		}
		reportUnused(c.Diag, s, s.Header())
	}
	for _, p := range c.Root.Params {
		if !p.used {
			c.Diag.Warnf(p.Pos, "top-level parameter %q is not used", p.Key)
		}
	}
}

func reportUnused(d *Diagnostics, s *Section, where string) {
	for _, p := range s.Params {
		if !p.used {
			d.Warnf(p.Pos, "parameter %q in %s is not used", p.Key, where)
		}
	}
	for _, n := range s.Nested {
		if !n.used {
			d.Warnf(n.Pos, "section %s in %s is not used", n.Header(), where)
			continue
		}
		reportUnused(d, n, where+" "+n.Header())
	}
}
