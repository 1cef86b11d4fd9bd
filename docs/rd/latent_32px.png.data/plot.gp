set terminal pngcairo size 1200,750 font ',10'
set output 'docs/rd/latent_32px.png'
set logscale x 2
set xlabel 'bits per pixel (wire bytes x 8 / pixels)'
set ylabel 'PSNR (dB)'
set key outside right
set grid
set yrange [10:45]
set title 'Rate-distortion, data/photos/val (PNG, lossless, in the report)'
plot 'docs/rd/latent_32px.png.data/curve0.dat' using 1:2 with linespoints title 'all latent k100', 'docs/rd/latent_32px.png.data/curve1.dat' using 1:2 with linespoints title 'grid latent k25', 'docs/rd/latent_32px.png.data/curve2.dat' using 1:2 with linespoints title 'grid latent k50', 'docs/rd/latent_32px.png.data/curve3.dat' using 1:2 with linespoints title 'grid pixels', 'docs/rd/latent_32px.png.data/curve4.dat' using 1:2 with linespoints title 'jpeg', 'docs/rd/latent_32px.png.data/curve5.dat' using 1:2 with linespoints title 'masker latent k25', 'docs/rd/latent_32px.png.data/curve6.dat' using 1:2 with linespoints title 'masker latent k50', 'docs/rd/latent_32px.png.data/curve7.dat' using 1:2 with linespoints title 'masker pixels', 'docs/rd/latent_32px.png.data/curve8.dat' using 1:2 with linespoints title 'random latent k25', 'docs/rd/latent_32px.png.data/curve9.dat' using 1:2 with linespoints title 'random latent k50', 'docs/rd/latent_32px.png.data/curve10.dat' using 1:2 with linespoints title 'random pixels', 'docs/rd/latent_32px.png.data/curve11.dat' using 1:2 with linespoints title 'webp'
