package rewrite

import (
	"regexp/syntax"
	"sync"
	"unicode/utf8"
)

// backtracker finds the leftmost-first match of a compiled RE2 program
// with submatches, without allocating once its buffers have grown: Go's
// regexp allocates the result of every FindSubmatchIndex. It is a bounded
// backtracker (each (instruction, position) pair is tried at most once, so
// it runs in linear time), used for inputs whose visited set stays small;
// longer inputs go to regexp.
type backtracker struct {
	prog     *syntax.Prog
	input    []byte
	visited  []uint32
	jobs     []btJob
	cap      []int
	matchcap []int
}

type btJob struct {
	pc      uint32
	restore bool // undo a capture: pos is the saved value
	pos     int
}

// maxBacktrackBits bounds the visited set (instructions × input length).
const maxBacktrackBits = 256 * 1024

var backtrackers = sync.Pool{New: func() any { return new(backtracker) }}

func canBacktrack(prog *syntax.Prog, n int) bool {
	return len(prog.Inst)*(n+1) <= maxBacktrackBits
}

// match runs prog over input; on success it appends the capture offsets
// (2 per group, group 0 first, -1 for groups that did not take part) to
// caps[:0] and returns them.
func (b *backtracker) match(prog *syntax.Prog, input []byte, ncap int, caps []int) ([]int, bool) {
	b.prog, b.input = prog, input
	words := (len(prog.Inst)*(len(input)+1) + 31) / 32
	if cap(b.visited) < words {
		b.visited = make([]uint32, words)
	} else {
		b.visited = b.visited[:words]
		clear(b.visited)
	}
	n := 2 * (ncap + 1)
	b.cap = resize(b.cap, n)
	b.matchcap = resize(b.matchcap, n)
	anchored := prog.StartCond()&syntax.EmptyBeginText != 0
	for start := 0; start <= len(input); start++ {
		for i := range b.cap {
			b.cap[i] = -1
		}
		b.cap[0] = start
		if b.try(uint32(prog.Start), start) {
			b.prog, b.input = nil, nil
			return append(caps[:0], b.matchcap...), true
		}
		if anchored {
			break
		}
		// Skip to the next rune start, as regexp does.
		if start < len(input) {
			_, w := utf8.DecodeRune(input[start:])
			start += w - 1
		}
	}
	b.prog, b.input = nil, nil
	return caps, false
}

func resize(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func (b *backtracker) visit(pc uint32, pos int) bool {
	n := uint(int(pc)*(len(b.input)+1) + pos)
	if b.visited[n/32]&(1<<(n&31)) != 0 {
		return false
	}
	b.visited[n/32] |= 1 << (n & 31)
	return true
}

func (b *backtracker) try(pc0 uint32, pos0 int) bool {
	b.jobs = append(b.jobs[:0], btJob{pc: pc0, pos: pos0})
	input := b.input
	for len(b.jobs) > 0 {
		j := b.jobs[len(b.jobs)-1]
		b.jobs = b.jobs[:len(b.jobs)-1]
		pc, pos := j.pc, j.pos
		if j.restore {
			b.cap[b.prog.Inst[pc].Arg] = pos
			continue
		}
	step:
		if !b.visit(pc, pos) {
			continue
		}
		inst := &b.prog.Inst[pc]
		switch inst.Op {
		case syntax.InstFail:
			continue
		case syntax.InstAlt, syntax.InstAltMatch:
			// Leftmost-first: the preferred branch runs now, the other later.
			b.jobs = append(b.jobs, btJob{pc: inst.Arg, pos: pos})
			pc = inst.Out
			goto step
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			if pos >= len(input) {
				continue
			}
			r, w := rune(input[pos]), 1
			if r >= utf8.RuneSelf {
				r, w = utf8.DecodeRune(input[pos:])
			}
			switch inst.Op {
			case syntax.InstRune:
				if !inst.MatchRune(r) {
					continue
				}
			case syntax.InstRune1:
				if r != inst.Rune[0] {
					continue
				}
			case syntax.InstRuneAnyNotNL:
				if r == '\n' {
					continue
				}
			}
			pos += w
			pc = inst.Out
			goto step
		case syntax.InstCapture:
			if int(inst.Arg) < len(b.cap) {
				b.jobs = append(b.jobs, btJob{pc: pc, restore: true, pos: b.cap[inst.Arg]})
				b.cap[inst.Arg] = pos
			}
			pc = inst.Out
			goto step
		case syntax.InstEmptyWidth:
			before, after := rune(-1), rune(-1)
			if pos > 0 {
				before, _ = utf8.DecodeLastRune(input[:pos])
			}
			if pos < len(input) {
				after, _ = utf8.DecodeRune(input[pos:])
			}
			if syntax.EmptyOp(inst.Arg)&^syntax.EmptyOpContext(before, after) != 0 {
				continue
			}
			pc = inst.Out
			goto step
		case syntax.InstNop:
			pc = inst.Out
			goto step
		case syntax.InstMatch:
			// The first match reached in preference order is Perl's match.
			copy(b.matchcap, b.cap)
			b.matchcap[1] = pos
			return true
		}
	}
	return false
}
