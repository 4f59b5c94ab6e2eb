# Regenerates scrub-ruby.txt: ruby buffer/testdata/scrub-ruby.rb > buffer/testdata/scrub-ruby.txt
r = Random.new(16)
al = [0x41,0x7f,0x80,0x8f,0x90,0x9f,0xa0,0xbf,0xc0,0xc1,0xc2,0xdf,0xe0,0xe1,0xec,0xed,0xee,0xef,0xf0,0xf1,0xf3,0xf4,0xf5,0xff]
puts "# Ruby #{RUBY_VERSION} String#scrub (default replacement U+FFFD) of random byte strings: input hex, output hex."
puts "# Generated with buffer/testdata/scrub-ruby.rb (seed 16)."
1500.times{ n = r.rand(1..10); s = Array.new(n){ al[r.rand(al.size)] }.pack("C*").force_encoding("UTF-8"); puts "#{s.b.unpack1("H*")} #{s.scrub.b.unpack1("H*")}" }
