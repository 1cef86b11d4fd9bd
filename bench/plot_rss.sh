#!/usr/bin/env bash
# RSS of the daemons over a load run (rss.csv from `mt-client load --rss_csv`) as a PNG, and a
# one-line growth summary per process (after the first 10 % of the run, i.e. after warm-up).
# Usage: bench/plot_rss.sh RSS_CSV OUT_PNG [TITLE]
set -euo pipefail
csv="${1:?usage: bench/plot_rss.sh RSS_CSV OUT_PNG [TITLE]}" png="${2:?}" title="${3:-daemon RSS under load}"
for p in $(tail -n +2 "$csv" | cut -d, -f3 | sort -u); do
  awk -F, -v p="$p" 'NR > 1 && $3 == p { r[n] = $4; if ($4 > m) m = $4; n++ }
    END { s = int(n / 10); printf "%s: %d samples, RSS %.0f MiB after warm-up, %.0f MiB at the end, peak %.0f MiB\n",
          p, n, r[s] / 1024, r[n - 1] / 1024, m / 1024 }' "$csv"
done
gnuplot <<GP
set terminal pngcairo size 900,420 font ",10"
set output "$png"
set datafile separator ","
set title "$title"
set xlabel "time (s)"
set ylabel "RSS (MiB)"
set yrange [0:*]
set key bottom right
plot "< grep ',sender,' $csv" using 1:(\$4/1024) with lines lw 2 title "mt-sender", \
     "< grep ',receiver,' $csv" using 1:(\$4/1024) with lines lw 2 title "mt-receiver"
GP
echo "wrote $png"
