# Regenerates millis-ruby.txt: ruby sink/cloudwatch/testdata/millis-ruby.rb > sink/cloudwatch/testdata/millis-ruby.txt
# Each line: seconds, nanoseconds, and the event timestamp fluent-plugin-cloudwatch-logs 0.15.0 sends for that
# Fluent::EventTime: (time.to_f * 1000).floor, with EventTime#to_f = @sec + @nsec / 1_000_000_000.0 (fluentd v1.19.3,
# lib/fluent/time.rb), in this Ruby's IEEE-754 doubles.
r = Random.new(16)
puts "# Ruby #{RUBY_VERSION}: sec nsec (sec + nsec / 1_000_000_000.0) * 1000).floor"
4000.times do |i|
  sec = 1_700_000_000 + r.rand(100_000_000)
  nsec = case i % 4
         when 0 then r.rand(1_000_000_000)
         when 1 then r.rand(1_000) * 1_000_000 + 999_000 + r.rand(1_000) # near the next millisecond
         when 2 then r.rand(1_000) * 1_000_000                           # whole milliseconds
         else r.rand(1_000) * 1_000_000 + r.rand(400)                    # just past one
         end
  puts "#{sec} #{nsec} #{((sec + nsec / 1_000_000_000.0) * 1000).floor}"
end
