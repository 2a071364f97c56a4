package processdef

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a process file, or with applying it: where it is and
// what is wrong, precisely enough to fix.
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"` // what it is about: process x, field Y, stage Z
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", p.Line, p.Column)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem of a refused file at once; nothing was changed.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// problems collects problems as a file is read and checked.
type problems struct {
	file string
	list []Problem
}

// maxProblems bounds the list: a broken file of a million lines gets a readable answer.
const maxProblems = 100

func (ps *problems) add(at pos, path, format string, a ...any) {
	if len(ps.list) >= maxProblems {
		return
	}
	ps.list = append(ps.list, Problem{File: ps.file, Line: at.line, Column: at.col, Path: path, Message: fmt.Sprintf(format, a...)})
}

// err is nil without problems, else an *Error with them in file order.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sort.SliceStable(ps.list, func(i, j int) bool {
		a, b := ps.list[i], ps.list[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return &Error{Problems: ps.list}
}
