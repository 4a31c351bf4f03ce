package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// plainEvery is how often progress is printed when the output is not a
// terminal (a log, a CI job), where redrawing one line is impossible.
const plainEvery = 5 * time.Second

// progress shows a job's progress: on a terminal one line redrawn in
// place, elsewhere a plain line every plainEvery and at the end.
type progress struct {
	out      io.Writer
	terminal bool
	now      func() time.Time
	printed  time.Time   // when the last plain line was printed
	unshown  *bridge.Job // the latest state, when no plain line showed it
	drawn    bool        // a terminal line is on screen, not yet ended
}

func newProgress(out io.Writer, now func() time.Time) *progress {
	return &progress{out: out, terminal: isTerminal(out), now: now}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// show displays j: redraws the line on a terminal, or prints a line when
// the last one is plainEvery old (or this is the first).
func (p *progress) show(j bridge.Job) {
	if p.terminal {
		// Carriage return, the line, then erase what a longer line left.
		fmt.Fprintf(p.out, "\r%s\x1b[K", progressBar(j))
		p.drawn = true
		return
	}
	now := p.now()
	if !p.printed.IsZero() && now.Sub(p.printed) < plainEvery {
		p.unshown = &j
		return
	}
	p.printed, p.unshown = now, nil
	fmt.Fprintf(p.out, "job %s %s\n", j.ID, progressLine(j))
}

// stop ends the display: the terminal line is ended, and a plain output
// gets the last state it did not print yet.
func (p *progress) stop() {
	if p.terminal {
		if p.drawn {
			fmt.Fprintln(p.out)
			p.drawn = false
		}
		return
	}
	if p.unshown != nil {
		p.printed = time.Time{}
		p.show(*p.unshown)
	}
}

// handled is how many users the job has dealt with so far.
func handled(j bridge.Job) int { return j.Done + j.Failed + j.Skipped }

// percent is the share of the job done, 0 to 100.
func percent(j bridge.Job) int {
	if j.Total <= 0 {
		if j.State == bridge.JobRunning {
			return 0
		}
		return 100
	}
	return min(100, handled(j)*100/j.Total)
}

// rate is users handled per second over the job's life, from the
// bridge's own timestamps; "-" before there is anything to measure.
func rate(j bridge.Job) string {
	end := j.Updated
	if !j.Finished.IsZero() {
		end = j.Finished
	}
	elapsed := end.Sub(j.Created).Seconds()
	n := handled(j)
	if n == 0 || elapsed <= 0 {
		return "-"
	}
	r := float64(n) / elapsed
	if r >= 10 {
		return fmt.Sprintf("%.0f users/s", r)
	}
	return fmt.Sprintf("%.1f users/s", r)
}

// progressLine describes a job in one plain line.
func progressLine(j bridge.Job) string {
	return fmt.Sprintf("%s: %d/%d users (%d%%), %d failed, %d skipped, %s",
		j.State, handled(j), j.Total, percent(j), j.Failed, j.Skipped, rate(j))
}

// barWidth is the number of cells of the terminal progress bar.
const barWidth = 24

// progressBar describes a job as a bar for a terminal line.
func progressBar(j bridge.Job) string {
	full := percent(j) * barWidth / 100
	bar := strings.Repeat("#", full) + strings.Repeat("-", barWidth-full)
	return fmt.Sprintf("%-9s [%s] %3d%%  %d/%d  failed %d  skipped %d  %s",
		j.State, bar, percent(j), handled(j), j.Total, j.Failed, j.Skipped, rate(j))
}
