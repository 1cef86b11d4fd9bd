set terminal pngcairo size 1200,750 font ',10'
set output 'runs/rd_s10b/conv_full.png'
set logscale x 2
set xlabel 'bits per pixel (wire bytes x 8 / pixels)'
set ylabel 'PSNR (dB)'
set key outside right
set grid
set yrange [10:45]
set title 'Rate-distortion, data/photos/val (PNG, lossless, in the report)'
plot 'runs/rd_s10b/conv_full.png.data/curve0.dat' using 1:2 with linespoints title 'conv latent k100', 'runs/rd_s10b/conv_full.png.data/curve1.dat' using 1:2 with linespoints title 'jpeg', 'runs/rd_s10b/conv_full.png.data/curve2.dat' using 1:2 with linespoints title 'webp'
