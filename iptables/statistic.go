package iptables

import (
	"math"
	"strconv"
)

// StatisticProbability returns p as iptables-save prints it after a
// round trip through the kernel ("-m statistic --mode random --probability
// X"): the statistic match stores round(p * 2^31) and prints that value
// divided by 2^31 with 11 decimals. Rendering the same text avoids a
// spurious difference between the desired rules and those read back.
func StatisticProbability(p float64) string {
	stored := math.Round(p * 0x80000000)
	return strconv.FormatFloat(stored/0x80000000, 'f', 11, 64)
}
